"""The main path: one clip through every stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.run import process_clip
from tests.conftest import SAMPLE


def test_diarizing_alongside_recognition_changes_nothing_but_time(tmp_path, models):
    clip = tmp_path / "first.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(SAMPLE), "-t", "12", str(clip)], check=True)
    results = []
    for parallel in (True, False):
        config = Config()
        config.translate.engine = "none"
        config.runtime.parallel = parallel
        transcript = process_clip(clip, config, models, progress=False)
        assert {"diarize", "asr"} <= set(transcript.stage_seconds)
        record = transcript.to_dict()
        record.pop("stage_seconds"), record.pop("config")
        results.append(record)
    assert results[0] == results[1]
    assert len(results[0]["speakers"]) == 2 and results[0]["sentences"]


@pytest.fixture(scope="module")
def two_speakers():
    """pyannote's own real sample: 30 s of English, two speakers (its RTTM says so)."""
    import pyannote.audio

    return Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [("num_speakers", 3, {3}), ("max_speakers", 1, {1}), ("min_speakers", 3, {3, 4, 5})],
)
def test_speaker_counts_from_the_config_reach_the_diarizer(
    option, value, expected, two_speakers, models
):
    # No stretch is long enough to be speech: Whisper has nothing to do, the diarizer all.
    overrides = {"vad.min_speech": 1000, "translate.engine": "none", f"diarization.{option}": value}
    transcript = process_clip(two_speakers, load_config(None, overrides), models, progress=False)
    assert len({turn.speaker for turn in transcript.turns}) in expected


def test_an_uncertain_speaker_count_is_said_with_the_option_to_fix_it():
    from pipeline.run import _count_doubt
    from pipeline.stages.diarize import DiarizationResult
    from pipeline.types import SpeakerCount

    scores = {"1": 0.1, "2": 0.59, "3": 0.591}
    unclear = SpeakerCount(3, "threshold", margin=0.001, uncertain=True, scores=scores)
    clear = SpeakerCount(3, "threshold", margin=0.2, uncertain=False, scores=scores)

    message = _count_doubt(DiarizationResult([], [], ["A", "B", "C"], unclear))
    assert "uncertain: 2 would fit" in message
    assert "--set diarization.num_speakers=N" in message
    assert _count_doubt(DiarizationResult([], [], ["A", "B", "C"], clear)) == ""
    assert _count_doubt(DiarizationResult([], [], ["A"])) == ""
