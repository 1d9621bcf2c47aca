"""Whatever rule a cue still breaks is reported, never hidden."""

from __future__ import annotations

import math
from collections import Counter

from pipeline.display import DIALOGUE_DASH
from pipeline.stages.subtitles.display import (
    displayed_lines,
    reading_chars,
    sentence_ids,
    speech_span,
)
from pipeline.stages.subtitles.rules import EPSILON, CueRules
from pipeline.types import Cue, RuleViolation


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
    for number, line in enumerate(displayed_lines(cue, names), start=1):
        if len(line) > rules.line_chars:
            yield (
                "line_length",
                f"line {number} has {len(line)} characters (limit {rules.line_chars})",
            )
    if len(cue.lines) > rules.max_lines * line_factor:
        yield "line_count", f"{len(cue.lines)} lines (limit {rules.max_lines * line_factor})"
    duration = cue.end - cue.start
    if duration < rules.min_duration - EPSILON:
        yield "min_duration", f"{duration:.3f} s (shortest {rules.min_duration:.3f} s)"
    if duration > rules.max_duration + EPSILON:
        yield "max_duration", f"{duration:.3f} s (longest {rules.max_duration:.3f} s)"
    speed = reading_chars(cue) / duration if duration > 0 else math.inf
    # A bilingual cue is read in one of its languages, each checked on its own track.
    if line_factor == 1 and speed > rules.reading_speed + EPSILON:
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
    speech_start, speech_end = speech_span(cue)
    if speech_start - cue.start > rules.max_lead + EPSILON:
        yield "lead", f"shown {speech_start - cue.start:.2f} s before its speech"
    if cue.end - speech_end > rules.max_linger + EPSILON:
        yield "linger", f"stays {cue.end - speech_end:.2f} s after its speech"
    if cue.is_dialogue:
        speakers = set(cue.line_speakers or [])
        dashed = all(line.startswith(DIALOGUE_DASH) for line in cue.lines)
        if len(speakers) != 2 or not dashed or len(cue.lines) != 2 * line_factor:
            yield "dialogue", "dialogue cue must have one '-' line per speaker"
    if spans:
        for sentence_id in sentence_ids(cue):
            span = spans.get(sentence_id) if sentence_id is not None else None
            if span and (cue.start < span[0] - EPSILON or cue.end > span[1] + EPSILON):
                yield "outside_sentence", f"outside sentence {sentence_id} ({span[0]}–{span[1]} s)"


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
