"""The limits a cue track is held to (broadcast conventions: Netflix timed text, BBC)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import MAX_FRAME_RATE, MIN_FRAME_RATE, OutputOptions

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
AUDIO_ONLY_FRAME_RATE = 25.0
EPSILON = 1e-3


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
        frame_rate=options.frame_rate or plausible_frame_rate(frame_rate) or AUDIO_ONLY_FRAME_RATE,
        min_gap_frames=options.min_gap_frames,
        close_gap_frames=options.close_gap_frames,
        max_lead=options.max_lead,
        max_linger=options.max_linger,
        language=language,
    )


def plausible_frame_rate(frame_rate: float | None) -> float | None:
    """The clip's frame rate if real video runs at it; a slide show (1 fps) or a bogus
    header is not a grid to snap subtitles to."""
    if frame_rate is not None and MIN_FRAME_RATE <= frame_rate <= MAX_FRAME_RATE:
        return frame_rate
    return None
