"""Cues from timed words: what goes on screen, and when.

This first layout keeps each cue inside one recognised segment and within a
length and duration limit, wrapping the text into at most two lines.
"""

from __future__ import annotations

import textwrap

from pipeline.config import OutputOptions
from pipeline.types import Cue, Segment, Word


def build_cues(segments: list[Segment], options: OutputOptions) -> list[Cue]:
    cues: list[Cue] = []
    for segment in segments:
        for group in _split_words(segment.words, options):
            text = " ".join(word.text for word in group)
            lines = textwrap.wrap(text, width=max(1, options.max_cue_chars // 2)) or [text]
            cues.append(
                Cue(start=group[0].start, end=group[-1].end, lines=lines, speaker=segment.speaker)
            )
    return cues


def _split_words(words: list[Word], options: OutputOptions) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current and _too_big([*current, word], options):
            groups.append(current)
            current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def _too_big(words: list[Word], options: OutputOptions) -> bool:
    chars = sum(len(word.text) for word in words) + len(words) - 1
    return (
        chars > options.max_cue_chars or words[-1].end - words[0].start > options.max_cue_duration
    )
