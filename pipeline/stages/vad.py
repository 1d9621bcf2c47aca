"""Voice activity detection: where in the audio someone speaks (Silero VAD).

Whisper is only shown these stretches, grouped into windows of at most
`max_chunk` seconds; over silence and noise it tends to invent text.
"""

from __future__ import annotations

import numpy as np
import torch
from silero_vad import get_speech_timestamps

from pipeline.config import VadOptions
from pipeline.types import SAMPLE_RATE, SpeechRegion


def detect_speech(
    samples: np.ndarray, model: torch.nn.Module, options: VadOptions
) -> list[SpeechRegion]:
    """Speech stretches in `samples`, in seconds from the first sample."""
    if not options.enabled:
        return [SpeechRegion(0.0, len(samples) / SAMPLE_RATE)] if len(samples) else []
    stamps = get_speech_timestamps(
        torch.from_numpy(samples),
        model,
        threshold=options.threshold,
        sampling_rate=SAMPLE_RATE,
        min_speech_duration_ms=int(options.min_speech * 1000),
        min_silence_duration_ms=int(options.min_silence * 1000),
        speech_pad_ms=int(options.padding * 1000),
        max_speech_duration_s=options.max_chunk,
    )
    model.reset_states()
    return [SpeechRegion(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def group_regions(regions: list[SpeechRegion], options: VadOptions) -> list[SpeechRegion]:
    """Join stretches separated by short pauses into windows no longer than `max_chunk`."""
    windows: list[SpeechRegion] = []
    for region in regions:
        if windows:
            last = windows[-1]
            close = region.start - last.end <= options.merge_gap
            fits = region.end - last.start <= options.max_chunk
            if close and fits:
                last.end = region.end
                continue
        windows.append(SpeechRegion(region.start, region.end))
    return windows
