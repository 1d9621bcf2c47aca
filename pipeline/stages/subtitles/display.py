"""What a cue shows: its lines with speaker names, and the characters a reader reads."""

from __future__ import annotations

from pipeline.display import DIALOGUE_DASH, displayed_lines, speaker_prefix
from pipeline.types import Cue

__all__ = [
    "cue_start",
    "displayed_lines",
    "reading_chars",
    "sentence_ids",
    "speaker_prefix",
    "speech_span",
]


def reading_chars(cue: Cue) -> int:
    """Characters a viewer reads (names and dialogue dashes not counted)."""
    text = " ".join(line.removeprefix(DIALOGUE_DASH) for line in cue.lines)
    return len(text)


def speech_span(cue: Cue) -> tuple[float, float]:
    start = cue.speech_start if cue.speech_start is not None else cue.start
    end = cue.speech_end if cue.speech_end is not None else cue.end
    return start, end


def cue_start(cue: Cue) -> float:
    return cue.start


def sentence_ids(cue: Cue) -> list[int | None]:
    return cue.line_sentence_ids if cue.line_sentence_ids is not None else [cue.sentence_id]
