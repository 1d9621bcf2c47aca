"""Cues from timed, speaker-attributed words: what goes on screen, and when.

The rules are broadcast subtitle conventions (Netflix timed text, BBC): short
lines, at most two of them, a cue on screen long enough to read but never much
before or after its speech, a clean gap between cues, and one speaker per cue
unless it is a two-speaker dialogue cue ("-" before each speaker's line).

Building a track goes in three steps:
1. `chunk`: each sentence's words are split into cues at the cheapest break
   points (after punctuation, before a conjunction or preposition, never inside
   a name), so that every cue fits its lines and its longest duration;
2. `pair_dialogue`: cues of two speakers whose speech overlaps become one
   dialogue cue when each fits one line;
3. `fit_timing`: on the frame grid, each cue is lengthened into the silence that
   follows (then precedes) it until it can be read, and gaps are set to the
   minimum or closed.
Whatever rule a cue still breaks is reported by `check_cues`, never hidden.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pipeline.config import OutputOptions
from pipeline.types import Cue, RuleViolation, Sentence, Word

RULES = {
    "line_length": "a line is longer than the language's limit (speaker name included)",
    "line_count": "more lines than allowed",
    "min_duration": "on screen for less than the shortest duration",
    "max_duration": "on screen for longer than the longest duration",
    "reading_speed": "more characters per second than the reading speed allows",
    "min_gap": "less than the minimum gap (in frames) before the next cue, or overlapping it",
    "open_gap": "a gap short enough to be closed to the minimum was left open",
    "lead": "appears too long before its speech",
    "linger": "stays too long after its speech",
    "dialogue": "a dialogue cue that is not one line per speaker, each led by '-'",
    "outside_sentence": "a translated cue outside the time span of the sentence it translates",
}
DIALOGUE_DASH = "-"
_SENTENCE_PUNCTUATION = (".", "!", "?", "…", "»", '"')
_CLAUSE_PUNCTUATION = (",", ";", ":", "—", "–")
# A line may break before these: conjunctions and prepositions.
_BREAK_BEFORE = {
    "ru": frozenset(
        str.split(
            "и а но или либо что чтобы если когда пока потому поэтому как где который которая "
            "которые которое в во на с со к ко по для от до из за о об обо у при без через про "
            "перед между под над"
        )
    ),
    "en": frozenset(
        str.split(
            "and but or nor so that because if when while which who whom whose where to of in "
            "on at for with from by about into over under after before than as"
        )
    ),
}
_EPSILON = 1e-3


@dataclass(frozen=True)
class CueRules:
    """The limits one cue track is held to."""

    line_chars: int
    max_lines: int
    min_duration: float
    max_duration: float
    reading_speed: float  # characters per second
    frame_rate: float
    min_gap_frames: int
    close_gap_frames: int
    max_lead: float
    max_linger: float
    language: str = "ru"

    @property
    def frame(self) -> float:
        return 1.0 / self.frame_rate

    @property
    def min_gap(self) -> float:
        return self.min_gap_frames / self.frame_rate

    @property
    def close_gap(self) -> float:
        return self.close_gap_frames / self.frame_rate


def rules_for(options: OutputOptions, language: str, frame_rate: float | None) -> CueRules:
    """The rules for `language`'s track; `frame_rate` is the clip's (None: audio only)."""
    line_chars = options.line_chars.get(language, options.line_chars.get("default", 42))
    return CueRules(
        line_chars=line_chars,
        max_lines=options.max_lines,
        min_duration=options.min_cue_duration,
        max_duration=options.max_cue_duration,
        reading_speed=options.reading_speed,
        frame_rate=options.frame_rate or frame_rate or 25.0,
        min_gap_frames=options.min_gap_frames,
        close_gap_frames=options.close_gap_frames,
        max_lead=options.max_lead,
        max_linger=options.max_linger,
        language=language,
    )


# ---------------------------------------------------------------- what is shown


def speaker_prefix(speaker: str | None, names: dict[str, str] | None) -> str:
    """`[Name]: ` as SRT shows it, or "" when names are off."""
    if not names or speaker is None:
        return ""
    return f"[{names.get(speaker, speaker)}]: "


def displayed_lines(cue: Cue, names: dict[str, str] | None) -> list[str]:
    """The lines of `cue` as an SRT player shows them, speaker names included."""
    if cue.line_speakers is None:
        first = speaker_prefix(cue.speaker, names)
        return [first + line if i == 0 else line for i, line in enumerate(cue.lines)]
    shown = []
    for line, speaker in zip(cue.lines, cue.line_speakers, strict=True):
        if line.startswith(DIALOGUE_DASH):
            shown.append(DIALOGUE_DASH + speaker_prefix(speaker, names) + line[1:])
        else:
            shown.append(line)
    return shown


def reading_chars(cue: Cue) -> int:
    """Characters a viewer reads (names and dialogue dashes not counted)."""
    text = " ".join(line.removeprefix(DIALOGUE_DASH) for line in cue.lines)
    return len(text)


# ---------------------------------------------------------------- breaking text


def break_cost(tokens: Sequence[str], position: int, language: str) -> float:
    """How bad it is to break between tokens[position - 1] and tokens[position]."""
    if position >= len(tokens):
        return 0.0
    before, after = tokens[position - 1], tokens[position]
    if before.endswith(_SENTENCE_PUNCTUATION):
        return 1.0
    if before.endswith(_CLAUSE_PUNCTUATION) or after in ("—", "–"):
        return 2.0
    if _is_name(before) and _is_name(after):
        return 1000.0  # never inside a name, unless nothing else fits
    if after.lower().strip('«"(') in _BREAK_BEFORE.get(language, _BREAK_BEFORE["en"]):
        return 3.0
    return 8.0


def _is_name(token: str) -> bool:
    letters = token.strip("«»\"'()[]")
    return len(letters) > 1 and letters[0].isupper()


def wrap_lines(
    tokens: Sequence[str], line_chars: int, max_lines: int, first_prefix: int, language: str
) -> list[str] | None:
    """`tokens` on at most `max_lines` lines of `line_chars`, broken at the best point.

    The first line also holds `first_prefix` characters of speaker name. None when
    the tokens do not fit.
    """
    text = " ".join(tokens)
    if first_prefix + len(text) <= line_chars:
        return [text]
    if max_lines < 2:
        return None
    best: tuple[float, list[str]] | None = None
    for position in range(1, len(tokens)):
        top, bottom = " ".join(tokens[:position]), " ".join(tokens[position:])
        if first_prefix + len(top) > line_chars or len(bottom) > line_chars:
            continue
        # Prefer good break points, then balanced lines.
        cost = break_cost(tokens, position, language) + abs(len(top) - len(bottom)) / line_chars
        if best is None or cost < best[0]:
            best = (cost, [top, bottom])
    return best[1] if best else None


def chunk(
    tokens: Sequence[str],
    fits: Callable[[int, int], bool],
    language: str,
    max_chars: int,
    preferred_breaks: frozenset[int] = frozenset(),
) -> list[tuple[int, int]]:
    """Split `tokens` into consecutive pieces [i, j) that each `fits`, breaking well.

    Dynamic programming over break points: the total of the break costs plus a
    cost per piece (fewer, fuller cues read better). Pieces longer than
    `max_chars` are never tried. A single token always makes a piece, so there
    is always an answer; a piece that does not fit is left for the rules report.
    """
    n = len(tokens)
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        chars = -1
        for i in range(j - 1, -1, -1):
            chars += len(tokens[i]) + 1
            if j - i > 1:
                if chars > max_chars:
                    break
                if not fits(i, j):
                    continue
            cost = best[i] + 4.0 + break_cost(tokens, j, language)
            if j in preferred_breaks:
                cost -= 6.0
            if cost < best[j]:
                best[j], back[j] = cost, i
    pieces, j = [], n
    while j > 0:
        pieces.append((back[j], j))
        j = back[j]
    return pieces[::-1]


# ---------------------------------------------------------------- building tracks


def source_cues(
    words: list[Word],
    sentences: list[Sentence],
    rules: CueRules,
    names: dict[str, str] | None = None,
) -> list[Cue]:
    """Cues in the spoken language, from each sentence's timed words.

    Where sentences are translated, each cue is given the time its translation
    needs too (translated cues are shown within the same span).
    """
    drafts: list[Cue] = []
    for sentence in sentences:
        own = words[sentence.first_word : sentence.first_word + sentence.word_count]
        drafts += _sentence_cues(own, sentence, words, rules, names)
    return fit_timing(pair_dialogue(drafts, rules, names), rules, _translated_demand(sentences))


def _translated_demand(sentences: list[Sentence]) -> Callable[[Cue], float]:
    """Characters to read in a cue: its own, or its translation's share if longer."""
    ratio = {s.id: len(s.translation or "") / max(1, len(s.text)) for s in sentences}

    def demand(cue: Cue) -> float:
        ids = [i for i in _sentence_ids(cue) if i is not None]
        return reading_chars(cue) * max([1.0, *(ratio.get(i, 1.0) for i in ids)])

    return demand


def _sentence_cues(
    own: list[Word],
    sentence: Sentence,
    all_words: list[Word],
    rules: CueRules,
    names: dict[str, str] | None,
) -> list[Cue]:
    tokens = [word.text for word in own]
    prefix = len(speaker_prefix(sentence.speaker, names))

    def fits(i: int, j: int) -> bool:
        return (
            own[j - 1].end - own[i].start <= rules.max_duration
            and wrap_lines(tokens[i:j], rules.line_chars, rules.max_lines, prefix, rules.language)
            is not None
        )

    # Where this speaker talks over another, a short piece can share a dialogue cue;
    # a sentence that fits one dialogue line whole needs no such break.
    one_line = prefix + len(DIALOGUE_DASH) + len(" ".join(tokens)) <= rules.line_chars
    overlap_breaks = (
        frozenset() if one_line else _overlap_boundaries(own, sentence.speaker, all_words)
    )
    cues = []
    for i, j in chunk(
        tokens, fits, rules.language, rules.line_chars * rules.max_lines, overlap_breaks
    ):
        lines = wrap_lines(tokens[i:j], rules.line_chars, rules.max_lines, prefix, rules.language)
        cues.append(
            Cue(
                start=own[i].start,
                end=own[j - 1].end,
                lines=lines or [" ".join(tokens[i:j])],
                speaker=sentence.speaker,
                sentence_id=sentence.id,
                speech_start=own[i].start,
                speech_end=own[j - 1].end,
            )
        )
    return cues


def _overlap_boundaries(
    own: list[Word], speaker: str | None, all_words: list[Word]
) -> frozenset[int]:
    """Break points where this speaker starts or stops talking over someone else.

    Breaking there lets the overlapping words become a short dialogue cue.
    """
    others = [(w.start, w.end) for w in all_words if w.speaker != speaker]
    overlapped = [any(s < word.end and word.start < e for s, e in others) for word in own]
    return frozenset(i for i in range(1, len(own)) if overlapped[i] != overlapped[i - 1])


def translation_cues(
    sentences: list[Sentence],
    source: list[Cue],
    rules: CueRules,
    names: dict[str, str] | None = None,
) -> list[Cue]:
    """Translated cues, each laid out inside the on-screen span of its sentence.

    A sentence's span is where its source-language cues are shown; its
    translation is split like any text and shares that span out by length.
    """
    spans = sentence_spans(source)
    drafts: list[Cue] = []
    for sentence in sentences:
        if not sentence.translation or sentence.id not in spans:
            continue
        start, end = spans[sentence.id]
        drafts += _spread(sentence, start, end, rules, names)
    paired = pair_dialogue(sorted(drafts, key=_start), rules, names, overlapping_only=True)
    return _separate(_share_overlaps(paired, rules), rules)


def _share_overlaps(cues: list[Cue], rules: CueRules) -> list[Cue]:
    """Two cues laid over each other that could not be paired share the time by length.

    (Translations of one dialogue cue's two sentences get the same span.)
    """
    for cue, following in itertools.pairwise(cues):
        if following.start >= cue.end:
            continue
        span = following.end - cue.start - rules.min_gap
        mine, theirs = reading_chars(cue), reading_chars(following)
        cue.end = _snap(cue.start + span * mine / max(1, mine + theirs), rules)
        following.start = round(max(following.start, cue.end + rules.min_gap), 3)
    return cues


def sentence_spans(cues: list[Cue]) -> dict[int, tuple[float, float]]:
    """Sentence id -> (first shown, last hidden) over the cues that show it."""
    spans: dict[int, tuple[float, float]] = {}
    for cue in cues:
        for sentence_id in _sentence_ids(cue):
            if sentence_id is None:
                continue
            start, end = spans.get(sentence_id, (cue.start, cue.end))
            spans[sentence_id] = (min(start, cue.start), max(end, cue.end))
    return spans


def _sentence_ids(cue: Cue) -> list[int | None]:
    return cue.line_sentence_ids if cue.line_sentence_ids is not None else [cue.sentence_id]


def _spread(
    sentence: Sentence, start: float, end: float, rules: CueRules, names: dict[str, str] | None
) -> list[Cue]:
    tokens = (sentence.translation or "").split()
    prefix = len(speaker_prefix(sentence.speaker, names))
    span = end - start
    total = len(" ".join(tokens)) or 1

    def fits(i: int, j: int) -> bool:
        share = span * len(" ".join(tokens[i:j])) / total
        return share <= rules.max_duration and (
            wrap_lines(tokens[i:j], rules.line_chars, rules.max_lines, prefix, rules.language)
            is not None
        )

    pieces = chunk(tokens, fits, rules.language, rules.line_chars * rules.max_lines)
    weights = [len(" ".join(tokens[i:j])) + 1 for i, j in pieces]
    cues, at = [], start
    for (i, j), weight in zip(pieces, weights, strict=True):
        until = at + span * weight / sum(weights)
        lines = wrap_lines(tokens[i:j], rules.line_chars, rules.max_lines, prefix, rules.language)
        cues.append(
            Cue(
                start=_snap(at, rules),
                end=_snap(until, rules),
                lines=lines or [" ".join(tokens[i:j])],
                speaker=sentence.speaker,
                sentence_id=sentence.id,
                speech_start=sentence.start,
                speech_end=sentence.end,
            )
        )
        at = until
    for earlier, later in itertools.pairwise(cues):
        earlier.end = round(max(earlier.start, later.start - rules.min_gap), 3)
    return cues


def bilingual_cues(source: list[Cue], sentences: list[Sentence], rules: CueRules) -> list[Cue]:
    """Source cues with their translation beneath, for players that show one track.

    A sentence shown in several source cues has its translation shared out over
    them by length, at word boundaries. Each language keeps its own line limit,
    so these cues hold up to twice `max_lines` lines.
    """
    translations = {s.id: (s.translation or "").split() for s in sentences}
    shown_in: dict[int, list[int]] = {}
    for index, cue in enumerate(source):
        for sentence_id in _sentence_ids(cue):
            if sentence_id is not None:
                shown_in.setdefault(sentence_id, []).append(index)
    beneath: dict[tuple[int, int], str] = {}
    for sentence_id, indexes in shown_in.items():
        weights = [reading_chars(source[i]) or 1 for i in indexes]
        shares = _share(translations.get(sentence_id, []), weights)
        for index, words in zip(indexes, shares, strict=True):
            beneath[index, sentence_id] = " ".join(words)
    cues = []
    for index, cue in enumerate(source):
        english = [beneath.get((index, sid), "") for sid in _sentence_ids(cue)]
        if cue.is_dialogue:
            lines = cue.lines + [DIALOGUE_DASH + text for text in english]
            cues.append(replace(cue, lines=lines, line_speakers=cue.line_speakers * 2))
        else:
            extra = (
                wrap_lines(english[0].split(), 42, rules.max_lines, 0, "en") if english[0] else []
            )
            cues.append(replace(cue, lines=cue.lines + (extra or [english[0]])))
    return cues


def _share(words: list[str], weights: list[int]) -> list[list[str]]:
    shares, taken, cumulative = [], 0, 0
    for weight in weights:
        cumulative += weight
        upto = round(len(words) * cumulative / sum(weights))
        shares.append(words[taken:upto])
        taken = upto
    return shares


# ---------------------------------------------------------------- speakers


def pair_dialogue(
    cues: list[Cue],
    rules: CueRules,
    names: dict[str, str] | None,
    overlapping_only: bool = False,
) -> list[Cue]:
    """Join two speakers' cues into one dialogue cue where they must share the screen.

    They must when their speech overlaps, or when the first cannot be read
    before the second begins (`overlapping_only`: only when their on-screen
    times overlap). Joined only if each fits one line, led by "-".
    """
    cues = sorted(cues, key=_start)
    paired: list[Cue] = []
    index = 0
    while index < len(cues):
        cue = cues[index]
        following = cues[index + 1] if index + 1 < len(cues) else None
        if following is not None and _must_share(cue, following, rules, overlapping_only):
            dialogue = _dialogue(cue, following, rules, names)
            if dialogue is not None:
                paired.append(dialogue)
                index += 2
                continue
        paired.append(cue)
        index += 1
    return paired


def _must_share(first: Cue, second: Cue, rules: CueRules, overlapping_only: bool) -> bool:
    if first.is_dialogue or second.is_dialogue or first.speaker == second.speaker:
        return False
    if overlapping_only:
        return second.start < first.end
    first_end = _speech(first)[1]
    if _speech(second)[0] < first_end:
        return True
    room = _speech(second)[0] - rules.min_gap - first.start
    return room < _needed(first, rules)


def _dialogue(first: Cue, second: Cue, rules: CueRules, names: dict[str, str] | None) -> Cue | None:
    lines = [DIALOGUE_DASH + " ".join(first.lines), DIALOGUE_DASH + " ".join(second.lines)]
    speakers = [first.speaker, second.speaker]
    widths = [len(speaker_prefix(s, names) + line) for s, line in zip(speakers, lines, strict=True)]
    start = min(first.start, second.start)
    end = max(first.end, second.end)
    if max(widths) > rules.line_chars or end - start > rules.max_duration:
        return None
    return Cue(
        start=start,
        end=end,
        lines=lines,
        speaker=None,
        sentence_id=None,
        line_speakers=speakers,
        line_sentence_ids=[first.sentence_id, second.sentence_id],
        speech_start=min(_speech(first)[0], _speech(second)[0]),
        speech_end=max(_speech(first)[1], _speech(second)[1]),
    )


# ---------------------------------------------------------------- timing


def fit_timing(
    cues: list[Cue], rules: CueRules, demand: Callable[[Cue], float] = reading_chars
) -> list[Cue]:
    """Frame-accurate times that can be read and leave clean gaps.

    Each cue starts on its speech and is lengthened into the following silence
    (at most `max_linger` past its speech), then into the preceding one (at
    most `max_lead`), until it is on screen for its minimum duration and the
    reading time of `demand(cue)` characters. A cue still short of its own
    reading time takes time a neighbour can spare. Then gaps shorter than the
    minimum are opened to it and gaps up to `close_gap_frames` are closed to it.
    """
    cues = [replace(cue) for cue in sorted(cues, key=_start)]
    for cue in cues:
        cue.start, cue.end = _snap(_speech(cue)[0], rules), _snap_up(_speech(cue)[1], rules)
    for index, cue in enumerate(cues):
        previous = cues[index - 1] if index > 0 else None
        following = cues[index + 1] if index + 1 < len(cues) else None
        _lengthen(cue, previous, following, rules, demand)
    for index in range(len(cues)):  # a cue's own text comes before its translation's
        _borrow(cues, index, rules, reading_chars)
    return _separate(cues, rules)


def _lengthen(
    cue: Cue,
    previous: Cue | None,
    following: Cue | None,
    rules: CueRules,
    demand: Callable[[Cue], float],
) -> None:
    speech_start, speech_end = _speech(cue)
    needed = _needed_capped(cue, rules, demand)
    latest = speech_end + rules.max_linger
    if following is not None:
        latest = min(latest, following.start - rules.min_gap)
    cue.end = max(cue.end, min(_snap_up(cue.start + needed, rules), _snap(latest, rules)))
    earliest = speech_start - rules.max_lead
    if previous is not None:
        earliest = max(earliest, previous.end + rules.min_gap)
    if cue.end - cue.start < needed - _EPSILON:
        cue.start = min(cue.start, max(_snap(cue.end - needed, rules), _snap_up(earliest, rules)))


def _borrow(cues: list[Cue], index: int, rules: CueRules, demand: Callable[[Cue], float]) -> None:
    """A cue still short of its time takes what a neighbour can give.

    The previous cue may end earlier (and start earlier, into its own lead) and the
    next may start later (and end later, into its own linger), each keeping the
    time it needs itself.
    """
    cue = cues[index]
    short = _needed_capped(cue, rules, demand) - (cue.end - cue.start)
    if short > _EPSILON and index > 0:
        previous = cues[index - 1]
        earliest = _speech(previous)[0] - rules.max_lead
        if index > 1:
            earliest = max(earliest, cues[index - 2].end + rules.min_gap)
        earliest = min(previous.start, earliest)
        end = min(previous.end, cue.start - rules.min_gap)
        give = end - earliest - _needed_capped(previous, rules, demand)
        own_lead = cue.start - (_speech(cue)[0] - rules.max_lead)
        take = min(_frames_up(short, rules), _frames_down(min(give, own_lead), rules))
        if take > 0:
            cue.start = round(cue.start - take, 3)
            previous.end = round(min(previous.end, cue.start - rules.min_gap), 3)
            start = _snap(previous.end - _needed_capped(previous, rules, demand), rules)
            previous.start = round(max(earliest, min(previous.start, start)), 3)
            short -= take
    if short > _EPSILON and index + 1 < len(cues):
        following = cues[index + 1]
        latest = _speech(following)[1] + rules.max_linger
        if index + 2 < len(cues):
            latest = min(latest, cues[index + 2].start - rules.min_gap)
        latest = max(following.end, latest)
        start = max(following.start, cue.end + rules.min_gap)
        give = latest - start - _needed_capped(following, rules, demand)
        own_linger = _speech(cue)[1] + rules.max_linger - cue.end
        take = min(_frames_up(short, rules), _frames_down(min(give, own_linger), rules))
        if take > 0:
            cue.end = round(cue.end + take, 3)
            following.start = round(max(following.start, cue.end + rules.min_gap), 3)
            end = _snap_up(following.start + _needed_capped(following, rules, demand), rules)
            following.end = round(min(latest, max(following.end, end)), 3)


def _needed_capped(cue: Cue, rules: CueRules, demand: Callable[[Cue], float]) -> float:
    return min(_needed(cue, rules, demand), rules.max_duration)


def _frames_down(seconds: float, rules: CueRules) -> float:
    return math.floor(seconds * rules.frame_rate + _EPSILON) / rules.frame_rate


def _frames_up(seconds: float, rules: CueRules) -> float:
    return math.ceil(seconds * rules.frame_rate - _EPSILON) / rules.frame_rate


def _separate(cues: list[Cue], rules: CueRules) -> list[Cue]:
    """At least the minimum gap between cues; short gaps closed to it."""
    for cue, following in itertools.pairwise(cues):
        gap = following.start - cue.end
        if gap < rules.min_gap - _EPSILON:
            cue.end = round(max(cue.start + rules.frame, following.start - rules.min_gap), 3)
            if following.start - cue.end < rules.min_gap - _EPSILON:  # speech fully overlapped
                following.start = round(cue.end + rules.min_gap, 3)
        elif gap <= rules.close_gap + _EPSILON:
            closed = following.start - rules.min_gap
            if closed - _speech(cue)[1] <= rules.max_linger and closed - cue.start <= (
                rules.max_duration
            ):
                cue.end = round(closed, 3)
            elif _speech(following)[0] - cue.end - rules.min_gap <= rules.max_lead:
                following.start = round(cue.end + rules.min_gap, 3)
    return cues


def _needed(cue: Cue, rules: CueRules, demand: Callable[[Cue], float] = reading_chars) -> float:
    return max(rules.min_duration, demand(cue) / rules.reading_speed)


def _speech(cue: Cue) -> tuple[float, float]:
    start = cue.speech_start if cue.speech_start is not None else cue.start
    end = cue.speech_end if cue.speech_end is not None else cue.end
    return start, end


def _start(cue: Cue) -> float:
    return cue.start


def _snap(seconds: float, rules: CueRules) -> float:
    return round(math.floor(seconds * rules.frame_rate + _EPSILON) / rules.frame_rate, 3)


def _snap_up(seconds: float, rules: CueRules) -> float:
    return round(math.ceil(seconds * rules.frame_rate - _EPSILON) / rules.frame_rate, 3)


# ---------------------------------------------------------------- the report


def check_cues(
    cues: list[Cue],
    rules: CueRules,
    track: str,
    names: dict[str, str] | None = None,
    spans: dict[int, tuple[float, float]] | None = None,
    line_factor: int = 1,
) -> list[RuleViolation]:
    """Every rule each cue breaks. `spans`: sentence spans translated cues must keep to.

    `line_factor` is the number of languages stacked in one cue (2 for a
    bilingual track); each language has its own `max_lines`.
    """
    found: list[RuleViolation] = []
    for number, cue in enumerate(cues, start=1):
        following = cues[number] if number < len(cues) else None
        for rule, detail in _broken(cue, following, rules, names, spans, line_factor):
            found.append(RuleViolation(track, number, rule, detail))
    return found


def _broken(
    cue: Cue,
    following: Cue | None,
    rules: CueRules,
    names: dict[str, str] | None,
    spans: dict[int, tuple[float, float]] | None,
    line_factor: int,
):
    line_chars = max(rules.line_chars, 42) if line_factor > 1 else rules.line_chars
    for number, line in enumerate(displayed_lines(cue, names), start=1):
        if len(line) > line_chars:
            yield "line_length", f"line {number} has {len(line)} characters (limit {line_chars})"
    if len(cue.lines) > rules.max_lines * line_factor:
        yield "line_count", f"{len(cue.lines)} lines (limit {rules.max_lines * line_factor})"
    duration = cue.end - cue.start
    if duration < rules.min_duration - _EPSILON:
        yield "min_duration", f"{duration:.3f} s (shortest {rules.min_duration:.3f} s)"
    if duration > rules.max_duration + _EPSILON:
        yield "max_duration", f"{duration:.3f} s (longest {rules.max_duration:.3f} s)"
    speed = reading_chars(cue) / duration if duration > 0 else math.inf
    # A bilingual cue is read in one of its languages, each checked on its own track.
    if line_factor == 1 and speed > rules.reading_speed + _EPSILON:
        yield "reading_speed", f"{speed:.1f} characters/s (limit {rules.reading_speed:g})"
    if following is not None:
        frames = (following.start - cue.end) * rules.frame_rate
        if frames < rules.min_gap_frames - 0.5:
            yield "min_gap", f"{frames:.1f} frames to the next cue (least {rules.min_gap_frames})"
        elif rules.min_gap_frames + 0.5 < frames <= rules.close_gap_frames + 0.5:
            yield (
                "open_gap",
                f"{frames:.1f} frames to the next cue (close ≤ {rules.close_gap_frames})",
            )
    speech_start, speech_end = _speech(cue)
    if speech_start - cue.start > rules.max_lead + _EPSILON:
        yield "lead", f"shown {speech_start - cue.start:.2f} s before its speech"
    if cue.end - speech_end > rules.max_linger + _EPSILON:
        yield "linger", f"stays {cue.end - speech_end:.2f} s after its speech"
    if cue.is_dialogue:
        speakers = set(cue.line_speakers or [])
        dashed = all(line.startswith(DIALOGUE_DASH) for line in cue.lines)
        if len(speakers) != 2 or not dashed or len(cue.lines) != 2 * line_factor:
            yield "dialogue", "dialogue cue must have one '-' line per speaker"
    if spans:
        for sentence_id in _sentence_ids(cue):
            span = spans.get(sentence_id) if sentence_id is not None else None
            if span and (cue.start < span[0] - _EPSILON or cue.end > span[1] + _EPSILON):
                yield "outside_sentence", f"outside sentence {sentence_id} ({span[0]}–{span[1]} s)"


# ---------------------------------------------------------------- all tracks of a clip


def build_tracks(
    words: list[Word],
    sentences: list[Sentence],
    language: str,
    target: str | None,
    options: OutputOptions,
    frame_rate: float | None,
    names: dict[str, str] | None = None,
) -> tuple[dict[str, list[Cue]], list[RuleViolation]]:
    """Every cue track of a clip, and every rule their cues still break.

    `language` is spoken; `target` is the translation's language (None: none).
    `names` are the speaker names shown in SRT (None when names are off); they
    take room on the line, so the layout depends on them.
    """
    source_rules = rules_for(options, language, frame_rate)
    tracks = {language: source_cues(words, sentences, source_rules, names)}
    violations = check_cues(tracks[language], source_rules, language, names)
    if target is None:
        return tracks, violations
    target_rules = rules_for(options, target, frame_rate)
    spans = sentence_spans(tracks[language])
    tracks[target] = translation_cues(sentences, tracks[language], target_rules, names)
    violations += check_cues(tracks[target], target_rules, target, names, spans)
    both = f"{language}-{target}"
    tracks[both] = bilingual_cues(tracks[language], sentences, source_rules)
    violations += check_cues(tracks[both], source_rules, both, names, line_factor=2)
    return tracks, violations


def summarise(tracks: dict[str, list[Cue]], violations: list[RuleViolation]) -> str:
    """One line per track: how many cues break a rule, and which rules."""
    lines = []
    for track, cues in tracks.items():
        own = [v for v in violations if v.language == track]
        broken = len({v.cue for v in own})
        by_rule = Counter(v.rule for v in own)
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
        lines.append(
            f"{track}: {broken} of {len(cues)} cue(s) break a subtitle rule"
            + (f" ({rules})" if rules else "")
        )
    return "\n".join(lines)
