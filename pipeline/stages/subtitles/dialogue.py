"""Two speakers in one cue: one line each, each led by "-"."""

from __future__ import annotations

from pipeline.display import DIALOGUE_DASH
from pipeline.stages.subtitles.display import cue_start, speaker_prefix, speech_span
from pipeline.stages.subtitles.rules import CueRules
from pipeline.stages.subtitles.timing import needed
from pipeline.types import Cue


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
    cues = sorted(cues, key=cue_start)
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
    first_end = speech_span(first)[1]
    if speech_span(second)[0] < first_end:
        return True
    room = speech_span(second)[0] - rules.min_gap - first.start
    return room < needed(first, rules)


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
        speech_start=min(speech_span(first)[0], speech_span(second)[0]),
        speech_end=max(speech_span(first)[1], speech_span(second)[1]),
    )
