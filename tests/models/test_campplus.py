"""CAM++ on real speech: the exported (ONNX Runtime) network embeds as the module does."""

from __future__ import annotations

import shutil

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
        3 * SAMPLE_RATE,  # the diarization window
        12 * SAMPLE_RATE,
    ],
)
def test_the_exported_network_embeds_as_the_module_does(campplus, prompts_wav, length):
    speech = torch.from_numpy(load_audio(prompts_wav).samples[SAMPLE_RATE : SAMPLE_RATE + length])
    unfrozen = type(campplus)(campplus.network).eval()
    with torch.inference_mode():
        frozen, module = campplus.embed(speech), unfrozen.embed(speech)
    assert frozen.shape == module.shape == (1, campplus.dimension)
    assert torch.isfinite(frozen).all()
    torch.testing.assert_close(frozen, module, rtol=1e-4, atol=1e-4)


def test_chunks_embedded_two_at_a_time_equal_one_at_a_time(campplus, prompts_wav):
    """As diarization does once recognition is done: the masked chunks of a batch."""
    samples = torch.from_numpy(load_audio(prompts_wav).samples)
    window = 5 * SAMPLE_RATE
    waveforms = torch.stack([samples[i * window : (i + 1) * window] for i in range(6)])[:, None]
    weights = torch.ones(6, 293)
    weights[::2, 150:] = 0  # half the chunks: the first half of the window only
    weights[5] = 0  # no speaker: no embedding
    embedded = {}
    for workers in (1, 2):
        campplus.workers = workers
        with torch.inference_mode():
            embedded[workers] = campplus(waveforms, weights)
    campplus.workers = 1
    torch.testing.assert_close(embedded[2], embedded[1], rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(embedded[1][5]).all() and torch.isfinite(embedded[1][:5]).all()


def test_the_network_is_exported_once_and_kept_whole(tmp_path):
    folder = tmp_path / "speaker-models"
    shutil.copytree(require_speaker_models(model_cache_dir()) / "campplus", folder / "campplus")
    for stale in (folder / "campplus").glob("*.onnx"):
        stale.unlink()
    load_campplus_model(folder)
    [exported] = (folder / "campplus").glob("*.onnx")
    written = exported.stat().st_mtime_ns
    load_campplus_model(folder)
    assert exported.stat().st_mtime_ns == written
    assert sorted(p.name for p in (folder / "campplus").iterdir()) == sorted(
        [exported.name, "camplusplus.py", "campplus_cn_en_common.pt"]
    )


def test_a_model_cache_it_cannot_write_to_exports_for_this_process_only(campplus, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the export's folder cannot be made here
    model = type(campplus)(campplus.network).eval()
    model.freeze_network(blocked / "campplus.onnx")
    assert model._frozen.network is not None and list(tmp_path.iterdir()) == [blocked]
    speech = torch.zeros(3 * SAMPLE_RATE).uniform_(-0.1, 0.1)
    with torch.inference_mode():
        torch.testing.assert_close(model.embed(speech), campplus.embed(speech))
