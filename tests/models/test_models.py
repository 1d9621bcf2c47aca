import socket

import pytest

from pipeline.config import model_cache_dir
from pipeline.errors import PipelineError
from pipeline.models.whisper import load_whisper, locate_whisper


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty openai-whisper cache and no sockets: like this machine, but certain."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_base_resolves_to_the_bundled_offline_copy(models, no_network):
    where = locate_whisper("base", model_cache_dir())
    assert where.path is not None and "bundled offline base" in where.source
    assert where.alignment_heads


def test_a_model_that_is_not_here_is_a_clear_error_not_a_downgrade(no_network, tmp_path):
    with pytest.raises(PipelineError) as error:
        load_whisper("small", model_cache_dir())
    message = str(error.value)
    assert "'small' is not installed" in message and "make models" in message


def test_a_missing_checkpoint_path_is_an_error(tmp_path):
    with pytest.raises(PipelineError, match="no such Whisper checkpoint"):
        locate_whisper(str(tmp_path / "large-v3.pt"), model_cache_dir())


def test_a_foreign_checkpoint_file_is_an_error(tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(PipelineError, match="cannot load Whisper checkpoint"):
        load_whisper(str(bogus), model_cache_dir())


def test_the_ctranslate2_engine_finds_the_registry_files_as_published(models, no_network):
    from pipeline.models.whisper import BUNDLED_CT2_SHA256

    where = locate_whisper("base", model_cache_dir(), engine="ctranslate2")
    assert where.path is not None and (where.path / "model.bin").is_file()
    assert where.sha256 == BUNDLED_CT2_SHA256 and "CTranslate2" in where.source


def test_a_ctranslate2_path_that_is_no_model_folder_is_an_error(tmp_path):
    with pytest.raises(PipelineError, match="not a CTranslate2 Whisper folder"):
        locate_whisper(str(tmp_path / "whisper-small-ct2"), model_cache_dir(), "ctranslate2")


def test_numpys_blas_runs_on_the_configured_threads():
    """BLAS sums round differently with their thread count, so every process (CLI, batch
    worker, Dask worker with OMP_NUM_THREADS=1) pins it to runtime.threads."""
    from threadpoolctl import threadpool_info

    from pipeline.config import load_config
    from pipeline.models.registry import prepare_process

    prepare_process(load_config(None, {"runtime.threads": 1}))
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert pools and all(pool["num_threads"] == 1 for pool in pools)
