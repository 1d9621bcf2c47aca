"""Who speaks when: a pyannote diarization pipeline run on in-memory audio."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.types import SAMPLE_RATE, SpeakerCount, SpeakerTurn

if TYPE_CHECKING:
    from pyannote.core import Annotation


@dataclass
class DiarizationResult:
    turns: list[SpeakerTurn]  # overlapping speech kept
    exclusive_turns: list[SpeakerTurn]  # at most one speaker at a time
    speakers: list[str]  # in order of first appearance
    count: SpeakerCount | None = None  # how the count was chosen (offline pipeline only)


def diarize(
    pipeline: Any,
    audio: np.ndarray,
    offset: float = 0.0,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> DiarizationResult:
    """Diarize 16 kHz mono float32 `audio` whose first sample is at `offset` s.

    Speakers are named SPEAKER_00, SPEAKER_01, ... in order of first speech.
    """
    import torch

    samples = np.ascontiguousarray(np.asarray(audio, dtype=np.float32).reshape(-1))
    if samples.size == 0:
        return DiarizationResult([], [], [])
    file = {"waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE}
    output = pipeline(
        file, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
    )
    duration = samples.size / SAMPLE_RATE
    turns = _annotation_turns(_overlapping(output), duration, offset)
    exclusive_turns = _annotation_turns(_exclusive(output), duration, offset)
    mapping = _first_appearance_labels(turns + exclusive_turns)
    return DiarizationResult(
        turns=[replace(turn, speaker=mapping[turn.speaker]) for turn in turns],
        exclusive_turns=[replace(turn, speaker=mapping[turn.speaker]) for turn in exclusive_turns],
        speakers=list(mapping.values()),
        count=_count_decision(pipeline, len(mapping)),
    )


def _count_decision(pipeline: Any, found: int) -> SpeakerCount | None:
    # The offline pipeline's clustering records its choice; hub pipelines do not.
    # No speech: pyannote stops before clustering, so any decision is an older clip's.
    decision = getattr(getattr(pipeline, "clustering", None), "decision", None)
    if found == 0 or not isinstance(decision, SpeakerCount):
        return None
    # A cluster can end up with no frame of its own: report the speakers really found.
    return replace(decision, speakers=found)


def _overlapping(output: Any) -> Annotation:
    # pyannote 4 returns DiarizeOutput; legacy pipelines return the Annotation.
    return getattr(output, "speaker_diarization", output)


def _exclusive(output: Any) -> Annotation:
    exclusive = getattr(output, "exclusive_speaker_diarization", None)
    return _overlapping(output) if exclusive is None else exclusive


def _annotation_turns(annotation: Annotation, duration: float, offset: float) -> list[SpeakerTurn]:
    # pyannote pads the last window, so a turn can run past the end of the audio.
    turns = [
        SpeakerTurn(
            start=round(start + offset, 3),
            end=round(min(segment.end, duration) + offset, 3),
            speaker=str(label),
        )
        for segment, _, label in annotation.itertracks(yield_label=True)
        if (start := max(segment.start, 0.0)) < min(segment.end, duration)
    ]
    return sorted(turns, key=lambda turn: (turn.start, turn.end))


def _first_appearance_labels(turns: list[SpeakerTurn]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for turn in sorted(turns, key=lambda turn: (turn.start, turn.end)):
        if turn.speaker not in mapping:
            mapping[turn.speaker] = f"SPEAKER_{len(mapping):02d}"
    return mapping
