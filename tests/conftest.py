import shutil
from pathlib import Path

import pytest

from pipeline.config import Config, model_cache_dir
from pipeline.models.provision import provision_whisper_base
from pipeline.models.registry import Models, prepare_process
from tests import support

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "council_sample.mp4"


def pytest_configure(config: pytest.Config) -> None:
    prepare_process(Config())  # as every entry point does


@pytest.fixture(scope="session")
def models() -> Models:
    """The default models, loaded once for the whole session (as a batch run would)."""
    provision_whisper_base(model_cache_dir())
    return Models(Config())


@pytest.fixture(scope="session")
def prompts_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 40 s of real Russian speech: 12 recorded prompts with pauses between them."""
    if not support.ASTERISK_RU.is_dir():
        pytest.fail("asterisk-core-sounds-ru-wav is not installed: run `make setup`")
    out = tmp_path_factory.mktemp("speech") / "prompts.wav"
    return support.concat_prompts(support.SPEECH_PROMPTS, out)


@pytest.fixture(scope="session")
def prompts_reference() -> str:
    texts = support.prompt_texts()
    return " ".join(texts[p] for p in support.SPEECH_PROMPTS)


@pytest.fixture(scope="session")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real spoken sentence (about 3 s), 16 kHz mono WAV."""
    out = tmp_path_factory.mktemp("speech") / "short.wav"
    support.ffmpeg("-i", support.ASTERISK_RU / "conf-kicked.wav", "-ar", "16000", "-ac", "1", out)
    return out


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    yield path
    shutil.rmtree(path, ignore_errors=True)


UNEXPECTED = "ValueError: a library failed on this clip"


@pytest.fixture
def library_failure(monkeypatch):
    """Speech detection raises what a library raises on a file it chokes on (not a
    PipelineError): for the tests of how an unexpected error reaches the user."""

    def fail(*args, **kwargs):
        raise ValueError("a library failed on this clip")

    monkeypatch.setattr("pipeline.run.detect_speech", fail)


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    """A real spoken Russian sentence as an MP4 with video, as a phone would post it."""
    from tests.batch.test_batch import make_clip

    return make_clip("conf-kicked", tmp_path_factory.mktemp("served") / "clip.mp4").read_bytes()


@pytest.fixture(scope="module")
def server(clip_bytes):
    """The local web server of `tests.link_server`, serving that clip."""
    from tests.link_server import LinkServer

    with LinkServer(clip_bytes) as running:
        yield running


@pytest.fixture(autouse=True)
def pipeline_logger_restored():
    """`cli.main` sets up the "pipeline" logger for a terminal (its own handler, no
    propagation), and module-scoped fixtures call it too: each test starts from a
    logger that propagates, so caplog sees its records."""
    import logging

    log = logging.getLogger("pipeline")
    saved = (list(log.handlers), log.level, log.propagate)
    log.handlers[:], log.level, log.propagate = [], logging.NOTSET, True
    logging.disable(logging.NOTSET)
    # Importing dask.distributed configures logging with `disable_existing_loggers`.
    for name in [name for name in logging.root.manager.loggerDict if name.startswith("pipeline")]:
        logging.getLogger(name).disabled = False
    yield
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]
