from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.run import transcribe_clip
from tests import support
from tests.conftest import SAMPLE

# Long enough for both speakers of the sample and four sentences, short enough to be quick.
CLIP_SECONDS = 12


@dataclass
class SampleRun:
    clip: Path  # the first seconds of the bundled sample, video and audio
    out: Path  # what `transcribe` wrote for it
    json: Path


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, models) -> SampleRun:
    """A real run of the pipeline (English included) on the start of the bundled sample."""
    root = tmp_path_factory.mktemp("publish")
    clip = root / "clips" / "council.mp4"
    clip.parent.mkdir()
    support.ffmpeg(
        "-i", SAMPLE, "-t", CLIP_SECONDS, "-c:v", "libx264", "-c:a", "copy", clip
    )  # fmt: skip
    out = root / "out"
    transcript, _ = transcribe_clip(clip, out, Config(), models, progress=False)
    assert transcript.speakers and len(transcript.sentences) >= 3
    # Whisper's English is laid on by time: a short sentence may get none of it.
    assert sum(bool(sentence.translation) for sentence in transcript.sentences) >= 2
    return SampleRun(clip, out, out / "council.json")
