"""CAM++ on real speech: the frozen (TorchScript) network embeds as the module does."""

from __future__ import annotations

import pytest
import torch

from pipeline.config import model_cache_dir
from pipeline.models.campplus import (
    MIN_EMBEDDING_SAMPLES,
    MIN_TRACED_SAMPLES,
    TRACE_SECONDS,
    load_campplus_model,
)
from pipeline.models.speaker_files import require_speaker_models
from pipeline.stages.audio import load_audio
from pipeline.types import SAMPLE_RATE


@pytest.fixture(scope="module")
def campplus():
    return load_campplus_model(require_speaker_models(model_cache_dir()))


@pytest.mark.parametrize(
    "length",
    [
        MIN_EMBEDDING_SAMPLES,  # one pooled frame: the module itself
        MIN_TRACED_SAMPLES,
        12_345,
        TRACE_SECONDS * SAMPLE_RATE,
        5 * SAMPLE_RATE,  # the diarization window
        12 * SAMPLE_RATE,
    ],
)
def test_the_frozen_network_embeds_as_the_module_does(campplus, prompts_wav, length):
    speech = torch.from_numpy(load_audio(prompts_wav).samples[SAMPLE_RATE : SAMPLE_RATE + length])
    unfrozen = type(campplus)(campplus.network).eval()
    with torch.inference_mode():
        frozen, module = campplus.embed(speech), unfrozen.embed(speech)
    assert frozen.shape == module.shape == (1, campplus.dimension)
    assert torch.isfinite(frozen).all()
    torch.testing.assert_close(frozen, module, rtol=1e-4, atol=1e-4)
