"""How a cue is shown: one format for the cue builder (line lengths) and the writers.

Kept apart from both so that the writers stage does not import the subtitles stage.
"""

from __future__ import annotations

from pipeline.types import Cue

# Each line of a two-speaker dialogue cue starts with this (Netflix: no space after it).
DIALOGUE_DASH = "-"


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
