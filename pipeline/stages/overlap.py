"""Overlapped speech, speaker by speaker: the words said underneath another voice.

Whisper returns one stream of words, and where two people talk at once it
follows the louder voice: the line said underneath is lost, or heard but put on
the louder speaker. The diarizer still finds where each overlapped turn begins
and ends, so each such turn is decoded again on its own window, and that decode
is aligned (as a word sequence) with the words the clip's transcript already
has there:

- words the transcript lacks, in a run that reaches into the overlap, are the
  turn's speaker's recovered speech (`Word.recovered`; `unsure` when Whisper's
  own confidence in them is low). Words the transcript has, or has spelled
  almost alike nearby, are never added twice, and a run only in the turn's
  own, unoverlapped part is left out: there the first pass heard this voice
  alone and is the better reading;
- words inside the overlap that this turn's decode hears and the other
  speaker's decode does not are that turn's speaker's (`reassigned`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from itertools import groupby

import numpy as np

from pipeline.config import OverlapOptions
from pipeline.text import normalise
from pipeline.types import Recovery, Segment, SpeakerTurn, Word

# Recognition of windows of the clip ((start, end) on the clip's timeline), with the
# same model, options and hallucination filters as the first pass: the segments of each
# window, in order. Given all windows at once, it may decode several at a time.
Decoder = Callable[[list[tuple[float, float]]], list[list[Segment]]]

NEARBY = 1.0  # seconds around a turn in which the transcript's words are compared
PARTLY_ALIKE = 0.5  # difflib ratio of two spellings of one word heard in two decodes
LOOSE_TIMES = 0.2  # seconds: Whisper's word times in two decodes differ by this much


@dataclass
class _Decode:
    turn: SpeakerTurn
    segments: list[Segment]
    confirmed: set[int]  # indexes of the transcript's words this decode heard too


def overlaps(turns: list[SpeakerTurn], min_overlap: float) -> list[tuple[SpeakerTurn, SpeakerTurn]]:
    """Pairs of turns of two speakers that overlap for at least `min_overlap` seconds."""
    return [
        (first, second)
        for index, first in enumerate(turns)
        for second in turns[index + 1 :]
        if first.speaker != second.speaker and _shared(first, second) >= min_overlap
    ]


def overlap_windows(turns: list[SpeakerTurn], options: OverlapOptions) -> list[tuple[float, float]]:
    """The windows `recover_overlaps` decodes: each overlapped turn, padded (none when the
    stage is off). Known from the turns alone, so they can be decoded before the rest."""
    pairs = overlaps(turns, options.min_overlap) if options.enabled else []
    return _padded(_overlapped_turns(pairs), options.padding)


def _padded(turns: dict[int, SpeakerTurn], padding: float) -> list[tuple[float, float]]:
    return [(turn.start - padding, turn.end + padding) for turn in turns.values()]


def _overlapped_turns(pairs: list[tuple[SpeakerTurn, SpeakerTurn]]) -> dict[int, SpeakerTurn]:
    # by id() of the turn: turns are not hashable
    return {id(turn): turn for pair in pairs for turn in pair}


def recover_overlaps(
    heard: list[Segment], turns: list[SpeakerTurn], decode: Decoder, options: OverlapOptions
) -> Recovery:
    """What each speaker said in the overlapped `turns` that the `heard` segments lack
    or put on another speaker; `decode` recognises one window of the clip."""
    pairs = overlaps(turns, options.min_overlap) if options.enabled else []
    if not pairs:
        return Recovery()
    known = [word for segment in heard for word in segment.words]
    unique = _overlapped_turns(pairs)
    windows = _padded(unique, options.padding)  # overlap_windows, without finding pairs again
    decodes = {
        key: _decode(turn, segments, known)
        for (key, turn), segments in zip(unique.items(), decode(windows), strict=True)
    }
    recovery = Recovery()
    for decode in decodes.values():
        spans = [_span(decode.turn, other) for other in _partners(decode.turn, pairs)]
        for segment in decode.segments:
            recovery.segments += _new_speech(segment, decode.turn, spans, known, options)
    recovery.segments = _one_speaker_each(recovery.segments, options.min_words)
    recovery.reassigned = _reassigned(known, pairs, decodes, options.padding)
    return recovery


def _decode(turn: SpeakerTurn, segments: list[Segment], known: list[Word]) -> _Decode:
    said = [word for segment in segments for word in segment.words]
    nearby = _nearby(known, turn)
    heard = _heard_indexes([known[i] for i in nearby], said, PARTLY_ALIKE)
    confirmed = {nearby[i] for i in heard}
    return _Decode(turn, segments, confirmed)


def _heard_indexes(known: list[Word], said: list[Word], similarity: float) -> set[int]:
    """Indexes of `known` words that the decoded words `said` also hold: aligned to an
    equal word, or to a word spelled partly alike at about the same time."""
    known_texts, said_texts = _texts(known), _texts(said)
    matcher = SequenceMatcher(None, known_texts, said_texts, autojunk=False)
    heard: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            heard.update(range(i1, i2))
        elif tag == "replace":
            heard.update(
                i
                for i in range(i1, i2)
                for j in range(j1, j2)
                if _meet(known[i], said[j])
                and SequenceMatcher(None, known_texts[i], said_texts[j]).ratio() >= similarity
            )
    return heard


def _new_speech(
    segment: Segment,
    turn: SpeakerTurn,
    spans: list[tuple[float, float]],
    known: list[Word],
    options: OverlapOptions,
) -> list[Segment]:
    """Runs of the decode's words that are new, inside `turn` and reaching into an
    overlap (`spans`), given to the turn's speaker."""
    words = segment.words
    nearby = [known[i] for i in _nearby(known, turn)]
    new = _unheard(words, nearby, options.twin_similarity)
    # Where this speaker talks alone the first pass heard them well: a word said at the
    # same time as one of those is the same word heard another way.
    alone = [w for w in nearby if _inside(w, turn, 0.0) and not _in_any(w, spans, 0.0)]
    keep = [
        is_new and _inside(w, turn, options.padding) and not any(_meet(w, o) for o in alone)
        for is_new, w in zip(new, words, strict=True)
    ]
    unsure = _is_unsure(segment, options)
    runs = []
    for kept, pairs in groupby(zip(words, keep, strict=True), key=lambda pair: pair[1]):
        run = [word for word, _ in pairs]
        overlapped = any(_in_any(w, spans, options.padding) for w in run)
        confident = np.mean([w.probability for w in run]) >= options.min_probability
        if kept and overlapped and confident and len(run) >= options.min_words:
            runs.append(_segment(segment, run, turn.speaker, unsure, options))
    return runs


def _one_speaker_each(segments: list[Segment], min_words: int) -> list[Segment]:
    """Where both speakers' decodes recovered the same word at the same time, it is
    kept only for the decode that was surer of it (it was said once)."""
    taken: list[Word] = []
    kept = []
    for segment in sorted(
        segments, key=lambda s: -float(np.mean([w.probability for w in s.words]))
    ):
        words = [
            word
            for word in segment.words
            if not any(
                other.speaker != word.speaker
                and normalise(other.text) == normalise(word.text)
                and _meet(other, word)
                for other in taken
            )
        ]
        if len(words) < min_words:
            continue
        taken += words
        kept.append(_trimmed(segment, words))
    return sorted(kept, key=lambda segment: segment.start)


def _trimmed(segment: Segment, words: list[Word]) -> Segment:
    if len(words) == len(segment.words):
        return segment
    text = " ".join(word.text for word in words)
    return replace(segment, start=words[0].start, end=words[-1].end, text=text, words=words)


def _unheard(words: list[Word], known: list[Word], twin_similarity: float) -> list[bool]:
    """For each decoded word: True when the transcript has no copy of it nearby.

    Decoded words aligned to an equal transcript word are heard; so is one spelled
    almost alike (`twin_similarity`) within a second of it, since Whisper hears a
    word a little differently in another window.
    """
    said = _texts(words)
    matcher = SequenceMatcher(None, _texts(known), said, autojunk=False)
    matched = {b + i for _, b, size in matcher.get_matching_blocks() for i in range(size)}
    return [
        index not in matched and not _has_twin(word, said[index], known, twin_similarity)
        for index, word in enumerate(words)
    ]


def _has_twin(word: Word, text: str, known: list[Word], similarity: float) -> bool:
    return any(
        abs(_middle(other) - _middle(word)) <= NEARBY
        and SequenceMatcher(None, normalise(other.text), text).ratio() >= similarity
        for other in known
    )


def _reassigned(
    known: list[Word],
    pairs: list[tuple[SpeakerTurn, SpeakerTurn]],
    decodes: dict[int, _Decode],
    padding: float,
) -> list[Word]:
    """Words inside an overlap that one speaker's decode heard and the other's did not."""
    claims: dict[int, str | None] = {}
    for first, second in pairs:
        start, end = _span(first, second)
        for index, word in enumerate(known):
            if not start - padding <= _middle(word) <= end + padding:
                continue
            by_first = index in decodes[id(first)].confirmed
            by_second = index in decodes[id(second)].confirmed
            if by_first == by_second:
                continue
            speaker = first.speaker if by_first else second.speaker
            # Two overlaps that disagree about a word leave it where attribution put it.
            claims[index] = speaker if claims.get(index, speaker) == speaker else None
    # A word the decodes could not tell apart, between two words of one speaker, is theirs.
    for index in range(1, len(known) - 1):
        before, after = claims.get(index - 1), claims.get(index + 1)
        if index not in claims and before is not None and before == after:
            claims[index] = before
    return [replace(known[i], speaker=s) for i, s in sorted(claims.items()) if s is not None]


def _is_unsure(segment: Segment, options: OverlapOptions) -> bool:
    logprob = segment.avg_logprob if segment.avg_logprob is not None else 0.0
    return logprob < options.unsure_logprob


def _segment(
    decoded: Segment, words: list[Word], speaker: str, unsure: bool, options: OverlapOptions
) -> Segment:
    marked = [
        replace(
            word,
            speaker=speaker,
            speaker_share=None,
            recovered=True,
            unsure=bool(unsure or word.probability < options.unsure_probability),
        )
        for word in words
    ]
    return replace(
        decoded,
        start=marked[0].start,
        end=marked[-1].end,
        text=" ".join(word.text for word in marked),
        words=marked,
        speaker=speaker,
    )


def _partners(turn: SpeakerTurn, pairs: list[tuple[SpeakerTurn, SpeakerTurn]]) -> list[SpeakerTurn]:
    return [b if a is turn else a for a, b in pairs if turn is a or turn is b]


def _inside(word: Word, turn: SpeakerTurn, padding: float) -> bool:
    return turn.start - padding <= _middle(word) <= turn.end + padding


def _in_any(word: Word, spans: list[tuple[float, float]], padding: float) -> bool:
    return any(start - padding <= _middle(word) <= end + padding for start, end in spans)


def _nearby(known: list[Word], turn: SpeakerTurn) -> list[int]:
    low, high = turn.start - NEARBY, turn.end + NEARBY
    return [i for i, word in enumerate(known) if low <= _middle(word) <= high]


def _span(first: SpeakerTurn, second: SpeakerTurn) -> tuple[float, float]:
    return max(first.start, second.start), min(first.end, second.end)


def _shared(first: SpeakerTurn, second: SpeakerTurn) -> float:
    start, end = _span(first, second)
    return end - start


def _meet(first: Word, second: Word) -> bool:
    """Whether two words overlap in time, give or take how loose Whisper's word times are."""
    return min(first.end, second.end) + LOOSE_TIMES >= max(first.start, second.start)


def _texts(words: list[Word]) -> list[str]:
    return [normalise(word.text) for word in words]


def _middle(word: Word) -> float:
    return (word.start + word.end) / 2
