"""What a cue shows: its lines with speaker names, and the characters a reader reads."""

from __future__ import annotations

from pipeline.stages.subtitles.rules import DIALOGUE_DASH
from pipeline.types import Cue


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


def speech_span(cue: Cue) -> tuple[float, float]:
    start = cue.speech_start if cue.speech_start is not None else cue.start
    end = cue.speech_end if cue.speech_end is not None else cue.end
    return start, end


def cue_start(cue: Cue) -> float:
    return cue.start


def sentence_ids(cue: Cue) -> list[int | None]:
    return cue.line_sentence_ids if cue.line_sentence_ids is not None else [cue.sentence_id]
