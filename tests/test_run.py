"""The main path: one clip through every stage."""

from __future__ import annotations

import subprocess

from pipeline.config import Config
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
