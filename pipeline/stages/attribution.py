"""Who said each word: words get speakers from the turns, segments split by speaker.

A word goes to the speaker who talks most during it (the exclusive,
one-speaker-at-a-time turns), with that speaker's share of the word's time as
its confidence. Word times from Whisper are loose by a tenth of a second or
two, so a word at a turn boundary can land on the wrong side: a gate keeps a
lone word from splitting a segment unless it lies well inside the other turn.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import groupby

import numpy as np

from pipeline.types import Recovery, Segment, SpeakerTurn, Word


def attribute_segments(
    segments: list[Segment], turns: list[SpeakerTurn], min_turn_words: int, keep_share: float
) -> list[Segment]:
    """Attribute every word, then split each segment where its speaker changes."""
    result: list[Segment] = []
    for segment in segments:
        words = attribute_words(segment.words, turns)
        words = smooth_speakers(words, turns, min_turn_words, keep_share)
        result.extend(split_by_speaker(segment, words))
    return result


def attribute_words(words: list[Word], turns: list[SpeakerTurn]) -> list[Word]:
    """Copies of `words`, each given the speaker who talks most during it.

    `speaker_share` is the fraction of the word's time that speaker talks. A
    word outside every turn gets the nearest turn's speaker with share 0.0;
    with no turns at all, words keep no speaker.
    """
    if not turns:
        return [replace(word, speaker=None, speaker_share=None) for word in words]
    table = _TurnTable(turns)
    return [table.attribute(word) for word in words]


def smooth_speakers(
    words: list[Word], turns: list[SpeakerTurn], min_turn_words: int, keep_share: float
) -> list[Word]:
    """Give a short run of another speaker's words to its neighbours, unless it is sure."""
    runs = [list(run) for _, run in groupby(words, key=lambda word: word.speaker)]
    if len(runs) < 2:
        return words
    table = _TurnTable(turns)
    for index, run in enumerate(runs):
        sure = len(run) >= min_turn_words or max(w.speaker_share or 0 for w in run) >= keep_share
        if sure:
            continue
        neighbour = runs[index - 1] if index > 0 else runs[index + 1]
        speaker = neighbour[0].speaker
        runs[index] = [
            replace(w, speaker=speaker, speaker_share=table.share(w, speaker)) for w in run
        ]
    return [word for run in runs for word in run]


def split_by_speaker(segment: Segment, words: list[Word]) -> list[Segment]:
    """One segment per run of one speaker's words; decoding scores are kept."""
    if not words:
        return [replace(segment, words=[])]
    pieces = []
    runs = [list(run) for _, run in groupby(words, key=lambda word: word.speaker)]
    for run in runs:
        text = segment.text if len(runs) == 1 else " ".join(word.text for word in run)
        pieces.append(
            replace(
                segment,
                start=run[0].start,
                end=run[-1].end,
                text=text,
                words=run,
                speaker=run[0].speaker,
            )
        )
    return pieces


class _TurnTable:
    """Turns as arrays, so a word's overlap with each speaker is one product."""

    def __init__(self, turns: list[SpeakerTurn]):
        self.starts = np.array([turn.start for turn in turns])
        self.ends = np.array([turn.end for turn in turns])
        self.speakers = sorted({turn.speaker for turn in turns})
        self.membership = np.array(
            [[turn.speaker == speaker for speaker in self.speakers] for turn in turns], float
        )

    def per_speaker(self, word: Word) -> np.ndarray:
        overlap = np.minimum(self.ends, word.end) - np.maximum(self.starts, word.start)
        return np.clip(overlap, 0.0, None) @ self.membership

    def share(self, word: Word, speaker: str | None) -> float:
        duration = word.end - word.start
        if speaker not in self.speakers or duration <= 0:
            return 0.0
        return min(1.0, float(self.per_speaker(word)[self.speakers.index(speaker)]) / duration)

    def attribute(self, word: Word) -> Word:
        duration = word.end - word.start
        if duration > 0:
            per_speaker = self.per_speaker(word)
            best = int(np.argmax(per_speaker))
            if per_speaker[best] > 0:
                share = min(1.0, float(per_speaker[best]) / duration)
                return replace(word, speaker=self.speakers[best], speaker_share=share)
        else:
            inside = (self.starts <= word.start) & (word.start < self.ends)
            if inside.any():
                best = int(np.argmax(inside.astype(float) @ self.membership))
                return replace(word, speaker=self.speakers[best], speaker_share=1.0)
        gap = np.maximum(np.maximum(self.starts - word.end, word.start - self.ends), 0.0)
        nearest = int(np.argmin(gap))
        speaker = self.speakers[int(np.argmax(self.membership[nearest]))]
        return replace(word, speaker=speaker, speaker_share=0.0)


def apply_recovery(segments: list[Segment], recovery: Recovery) -> list[Segment]:
    """Attributed `segments` with the words the overlap stage gave to another speaker
    moved to that speaker, and its recovered segments put in, in time order."""
    speakers = {_identity(word): word.speaker for word in recovery.reassigned}
    result = []
    for segment in segments:
        if not any(_identity(word) in speakers for word in segment.words):
            result.append(segment)
            continue
        words = [
            replace(word, speaker=speakers[_identity(word)], speaker_share=None)
            if _identity(word) in speakers
            else word
            for word in segment.words
        ]
        result += split_by_speaker(segment, words)
    return sorted([*result, *recovery.segments], key=lambda segment: segment.start)


def _identity(word: Word) -> tuple[str, float, float]:
    return word.text, word.start, word.end
