"""Cues from timed, speaker-attributed words: what goes on screen, and when.

The rules are broadcast subtitle conventions (Netflix timed text, BBC): short
lines, at most two of them, a cue on screen long enough to read but never much
before or after its speech, a clean gap between cues, and one speaker per cue
unless it is a two-speaker dialogue cue ("-" before each speaker's line).

Building a track (`tracks`) goes in three steps:
1. `lines.chunk`: each sentence's words are split into cues at the cheapest break
   points (after punctuation, before a conjunction or preposition, never inside
   a name), so that every cue fits its lines and its longest duration;
2. `dialogue.pair_dialogue`: cues of two speakers whose speech overlaps become one
   dialogue cue when each fits one line;
3. `timing.fit_timing`: on the frame grid, each cue is lengthened into the silence that
   follows (then precedes) it until it can be read, and gaps are set to the
   minimum or closed.
Whatever rule a cue still breaks is reported by `report.check_cues`, never hidden;
the limits are in `rules`.
"""

from pipeline.stages.subtitles.display import displayed_lines, reading_chars, speaker_prefix
from pipeline.stages.subtitles.lines import chunk, wrap_lines
from pipeline.stages.subtitles.report import check_cues, summarise
from pipeline.stages.subtitles.rules import RULES, CueRules, rules_for
from pipeline.stages.subtitles.tracks import build_tracks, sentence_spans

__all__ = [
    "RULES",
    "CueRules",
    "build_tracks",
    "check_cues",
    "chunk",
    "displayed_lines",
    "reading_chars",
    "rules_for",
    "sentence_spans",
    "speaker_prefix",
    "summarise",
    "wrap_lines",
]
