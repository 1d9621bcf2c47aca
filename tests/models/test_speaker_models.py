import socket
import time

import pytest

from pipeline.errors import PipelineError
from pipeline.models.diarization_hub import load_hub_diarization
from pipeline.models.speaker_files import require_speaker_models


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_the_hub_pipeline_fails_fast_and_clearly_offline(no_network, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    started = time.monotonic()
    with pytest.raises(PipelineError) as error:
        load_hub_diarization("hf_not_a_real_token")
    assert time.monotonic() - started < 10, "must not hang on retries"
    message = str(error.value)
    assert "speaker-diarization-community-1" in message and "network" in message


def test_the_hub_pipeline_needs_a_token():
    with pytest.raises(PipelineError, match="no Hugging Face token"):
        load_hub_diarization("")


def test_missing_offline_models_say_how_to_get_them(tmp_path):
    with pytest.raises(PipelineError, match="missing or corrupt"):
        require_speaker_models(tmp_path)


def test_the_offline_pipelines_defaults_are_the_configs():
    """The diarization defaults are written in two places (the config a user reads and
    the loader tests call); they must be the same numbers."""
    import inspect

    from pipeline.config import DiarizationOptions
    from pipeline.models.diarization import load_offline_diarization

    loader = inspect.signature(load_offline_diarization).parameters
    options = DiarizationOptions()
    assert (
        loader["threshold"].default,
        loader["count_method"].default,
        loader["min_cluster_size"].default,
        loader["segmentation_duration"].default,
        loader["segmentation_step"].default,
    ) == (options.threshold, options.count, options.min_cluster_size, options.window, options.step)
