"""Cue tracks of a clip: the spoken language, its translation, and both together."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

from pipeline.config import OutputOptions
from pipeline.display import DIALOGUE_DASH
from pipeline.stages.subtitles.dialogue import pair_dialogue
from pipeline.stages.subtitles.display import (
    cue_start,
    reading_chars,
    sentence_ids,
    speaker_prefix,
)
from pipeline.stages.subtitles.lines import chunk, wrap_lines
from pipeline.stages.subtitles.report import check_cues
from pipeline.stages.subtitles.rules import EPSILON, CueRules, rules_for
from pipeline.stages.subtitles.timing import fit_timing, separate, snap
from pipeline.types import Cue, RuleViolation, Sentence, Word


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
        ids = [i for i in sentence_ids(cue) if i is not None]
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
            and _wrapped(tokens[i:j], rules, prefix) is not None
        )

    # Where this speaker talks over another, a short piece can share a dialogue cue;
    # a sentence that fits one dialogue line whole needs no such break.
    one_line = prefix + len(DIALOGUE_DASH) + len(" ".join(tokens)) <= rules.line_chars
    overlap_breaks = (
        frozenset() if one_line else _overlap_boundaries(own, sentence.speaker, all_words)
    )
    cues = []
    for i, j in _pieces(tokens, fits, rules, overlap_breaks, _said_at_once(own, all_words)):
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


def _pieces(
    tokens: list[str],
    fits: Callable[[int, int], bool],
    rules: CueRules,
    overlap_breaks: frozenset[int],
    forced: bool,
) -> list[tuple[int, int]]:
    """`chunk` the tokens; when `forced`, first cut them at every overlap break."""
    bounds = [0, *sorted(overlap_breaks), len(tokens)] if forced else [0, len(tokens)]
    pieces = []
    for low, high in itertools.pairwise(bounds):
        preferred = frozenset(b - low for b in overlap_breaks if low < b < high)
        part = chunk(
            tokens[low:high],
            lambda i, j, low=low: fits(low + i, low + j),
            rules.language,
            rules.line_chars * rules.max_lines,
            preferred,
        )
        pieces += [(low + i, low + j) for i, j in part]
    return pieces


def _said_at_once(own: list[Word], all_words: list[Word]) -> bool:
    """Whether these words overlap speech the overlap stage recovered (or are such speech):
    two people really talking at once, not Whisper's loose word times, so their
    overlapping words must get a dialogue cue of their own."""
    if any(word.recovered for word in own):
        return True
    speaker = own[0].speaker if own else None
    return any(
        other.recovered
        and other.speaker != speaker
        and any(other.start < word.end and word.start < other.end for word in own)
        for other in all_words
    )


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
    paired = pair_dialogue(sorted(drafts, key=cue_start), rules, names, overlapping_only=True)
    return separate(_share_overlaps(paired, rules), rules)


def _share_overlaps(cues: list[Cue], rules: CueRules) -> list[Cue]:
    """Two cues laid over each other that could not be paired share the time by length.

    (Translations of one dialogue cue's two sentences get the same span.)
    """
    for cue, following in itertools.pairwise(cues):
        if following.start >= cue.end:
            continue
        span = following.end - cue.start - rules.min_gap
        mine, theirs = reading_chars(cue), reading_chars(following)
        cue.end = snap(cue.start + span * mine / max(1, mine + theirs), rules)
        following.start = round(max(following.start, cue.end + rules.min_gap), 3)
    return cues


def sentence_spans(cues: list[Cue]) -> dict[int, tuple[float, float]]:
    """Sentence id -> (first shown, last hidden) over the cues that show it."""
    spans: dict[int, tuple[float, float]] = {}
    for cue in cues:
        for sentence_id in sentence_ids(cue):
            if sentence_id is None:
                continue
            start, end = spans.get(sentence_id, (cue.start, cue.end))
            spans[sentence_id] = (min(start, cue.start), max(end, cue.end))
    return spans


def _spread(
    sentence: Sentence, start: float, end: float, rules: CueRules, names: dict[str, str] | None
) -> list[Cue]:
    tokens = (sentence.translation or "").split()
    prefix = len(speaker_prefix(sentence.speaker, names))
    span = end - start
    total = len(" ".join(tokens)) or 1

    def fits(i: int, j: int) -> bool:
        share = span * len(" ".join(tokens[i:j])) / total
        # A part ends a gap before the next part; the whole sentence's span is what it
        # is, however short.
        shown = share - (rules.min_gap if j < len(tokens) else 0.0)
        whole = (i, j) == (0, len(tokens))
        return (
            (whole or shown >= rules.min_duration - EPSILON)
            and share <= rules.max_duration
            and _wrapped(tokens[i:j], rules, prefix) is not None
        )

    pieces = chunk(tokens, fits, rules.language, rules.line_chars * rules.max_lines)
    lengths = [len(" ".join(tokens[i:j])) for i, j in pieces]
    return [
        Cue(
            start=shown_from,
            end=shown_until,
            lines=_wrapped(tokens[i:j], rules, prefix) or [" ".join(tokens[i:j])],
            speaker=sentence.speaker,
            sentence_id=sentence.id,
            speech_start=sentence.start,
            speech_end=sentence.end,
        )
        for (i, j), (shown_from, shown_until) in zip(
            pieces, _shared_span(start, end, lengths, rules), strict=True
        )
    ]


def _shared_span(
    start: float, end: float, lengths: list[int], rules: CueRules
) -> list[tuple[float, float]]:
    """[start, end] less a gap between each two parts, shared by the parts' `lengths`, so
    each is read at the same pace (shared with the gaps, the longest fell behind)."""
    shown = end - start - rules.min_gap * (len(lengths) - 1)
    spans, at = [], start
    for length in lengths:
        until = snap(at + shown * length / max(1, sum(lengths)) + rules.frame / 2, rules)
        spans.append((snap(at, rules), min(until, snap(end, rules))))
        at = until + rules.min_gap
    return spans


def bilingual_cues(
    source: list[Cue],
    sentences: list[Sentence],
    source_rules: CueRules,
    target_rules: CueRules,
    names: dict[str, str] | None = None,
) -> list[Cue]:
    """Source cues with their translation beneath, for players that show one track.

    A sentence shown in several source cues has its translation shared out over
    them by length, at word boundaries. Each language keeps its own line limit, so
    these cues hold up to twice `max_lines` lines; a cue whose translation does not
    fit beneath it is split in time into parts that fit.
    """
    translations = {s.id: (s.translation or "").split() for s in sentences}
    shown_in: dict[int, list[int]] = {}
    for index, cue in enumerate(source):
        for sentence_id in sentence_ids(cue):
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
        english = [beneath.get((index, sid), "") for sid in sentence_ids(cue)]
        if cue.is_dialogue:
            lines = cue.lines + [DIALOGUE_DASH + text for text in english]
            cues.append(replace(cue, lines=lines, line_speakers=cue.line_speakers * 2))
        else:
            cues += _with_translation(cue, english[0].split(), source_rules, target_rules, names)
    return cues


def _with_translation(
    cue: Cue,
    english: list[str],
    source_rules: CueRules,
    target_rules: CueRules,
    names: dict[str, str] | None,
) -> list[Cue]:
    """`cue` with `english` wrapped beneath it, or, where that does not fit, the fewest
    parts of it in time, each with its share of the English beneath (all shown at least
    `min_duration`); as one cue with the English unwrapped when no split fits."""
    beneath = _wrapped(english, target_rules, 0)
    if beneath is not None:
        return [replace(cue, lines=cue.lines + beneath)]
    russian = " ".join(cue.lines).split()
    prefix = len(speaker_prefix(cue.speaker, names))
    for parts in range(2, len(russian) + 1):
        spoken = _share(russian, [1] * parts)
        shown = _share(english, [len(" ".join(words)) for words in spoken])
        lines = [
            (_wrapped(words, source_rules, prefix), _wrapped(translated, target_rules, 0))
            for words, translated in zip(spoken, shown, strict=True)
        ]
        if all(above is not None and below is not None for above, below in lines):
            split = _split_in_time(cue, [above + below for above, below in lines], source_rules)
            if split:
                return split
    return [replace(cue, lines=[*cue.lines, " ".join(english)])]


def _wrapped(tokens: list[str], rules: CueRules, prefix: int) -> list[str] | None:
    if not tokens:
        return []
    return wrap_lines(tokens, rules.line_chars, rules.max_lines, prefix, rules.language)


def _split_in_time(cue: Cue, parts: list[list[str]], rules: CueRules) -> list[Cue] | None:
    """`cue`'s span shared by its `parts`' lengths; None when a part would be shorter than
    `min_duration`."""
    lengths = [sum(len(line) for line in lines) for lines in parts]
    spans = _shared_span(cue.start, cue.end, lengths, rules)
    if any(until - start < rules.min_duration - EPSILON for start, until in spans):
        return None
    return [
        replace(cue, start=start, end=until, lines=lines)
        for (start, until), lines in zip(spans, parts, strict=True)
    ]


def _share(words: list[str], weights: list[int]) -> list[list[str]]:
    shares, taken, cumulative = [], 0, 0
    for weight in weights:
        cumulative += weight
        upto = round(len(words) * cumulative / sum(weights))
        shares.append(words[taken:upto])
        taken = upto
    return shares


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
    tracks[both] = bilingual_cues(tracks[language], sentences, source_rules, target_rules, names)
    # A line of either language may be as long as the longer of the two limits.
    both_rules = replace(
        source_rules, line_chars=max(source_rules.line_chars, target_rules.line_chars)
    )
    violations += check_cues(tracks[both], both_rules, both, names, line_factor=2)
    return tracks, violations
