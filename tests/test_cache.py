"""The stage cache: one stage's options changed -> that stage and those after it run again."""

import logging
from pathlib import Path

import pytest
import torch

from pipeline.cache import StageCache, canonical_json, digest
from pipeline.config import Config, load_config
from pipeline.models.registry import Models
from pipeline.run import process_clip
from pipeline.types import SpeechRegion
from tests import support

EVERY_STAGE = {"extract", "vad", "diarize", "asr", "overlap", "attribute", "cues"}


def test_keys_do_not_depend_on_spelling_or_order():
    assert canonical_json({"b": 1, "a": [SpeechRegion(0.5, 1.0)]}) == (
        '{"a":[{"end":1.0,"start":0.5}],"b":1}'
    )
    assert digest({"x": Config().vad, "y": 1}) == digest({"y": 1, "x": Config().vad})
    assert digest(Config().vad) != digest(load_config(None, {"vad.threshold": 0.4}).vad)


def test_a_missing_or_corrupt_entry_is_a_miss_and_a_corrupt_one_is_reported(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="pipeline")  # whatever the root logger's level
    cache = StageCache(tmp_path)
    key = cache.key("vad", {"input": "x"})
    assert cache.get("vad", key, lambda v: v) is None
    assert not caplog.records  # absent: an ordinary miss
    cache.put("vad", key, [[1, 2]])
    assert cache.get("vad", key, lambda v: v) == [[1, 2]]
    cache.path("vad", key).write_text('{"stage": "vad", "key": "')  # cut off mid-write
    assert cache.get("vad", key, lambda v: v) is None
    assert "unreadable entry" in caplog.text and key in caplog.text
    other = cache.key("vad", {"input": "y"})
    cache.path("vad", other).write_text(cache.path("vad", key).read_text())
    assert cache.get("vad", other, lambda v: v) is None  # not what its name says
    assert StageCache(None).get("vad", key, lambda v: v) is None


def test_a_loader_that_fails_is_shown_not_swallowed(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="pipeline")
    cache = StageCache(tmp_path)
    key = cache.key("vad", {"input": "x"})
    cache.put("vad", key, [[1, 2]])

    def broken_loader(value):
        return value["start"]  # a loader out of step with what was stored

    assert cache.get("vad", key, broken_loader) is None
    assert "cannot load the vad entry (TypeError:" in caplog.text
    assert cache.hits == []


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "clip.wav"
    support.ffmpeg("-i", support.ASTERISK_RU / "conf-kicked.wav", "-ar", "16000", out)
    return out


def run(clip: Path, config: Config, models: Models, root: Path):
    torch.set_num_threads(1)  # see pipeline.models.registry.prepare_process
    cache = StageCache(root)
    transcript = process_clip(clip, config, models, progress=False, cache=cache)
    return transcript, set(transcript.stage_seconds), set(cache.hits)


def without_timing(transcript) -> dict:
    data = transcript.to_dict()
    data.pop("stage_seconds")
    data.pop("config")
    return data


def test_changing_one_stage_reruns_only_that_stage_and_those_after_it(clip, tmp_path):
    root = tmp_path / ".cache"
    russian = load_config(None, {"translate.engine": "none"})
    russian_models = Models(russian)
    first, ran, hits = run(clip, russian, russian_models, root)
    assert ran == EVERY_STAGE and not hits
    assert first.segments and not any(s.translation for s in first.sentences)

    # Same everything: nothing but cues is computed again, and the audio is not decoded.
    again, ran, hits = run(clip, russian, russian_models, root)
    assert ran == {"cues"} and hits == EVERY_STAGE - {"cues"}
    assert without_timing(again) == without_timing(first)

    # English from Whisper: its English is decoded in the recognition pass (the audio is
    # heard once), so recognition runs again with it; VAD and diarization do not.
    english = load_config(None, {"translate.engine": "whisper"})
    english_models = Models(english)
    translated, ran, hits = run(clip, english, english_models, root)
    assert ran == {"extract", "asr", "overlap", "attribute", "translate", "cues"}
    assert hits == {"vad", "diarize"}
    assert all(s.translation for s in translated.sentences)
    assert translated.segments == first.segments

    # A VAD option: speech detection and everything that depends on it, not diarization.
    stricter = load_config(None, {"translate.engine": "whisper", "vad.threshold": 0.6})
    _, ran, hits = run(clip, stricter, english_models, root)
    assert ran == {"extract", "vad", "asr", "overlap", "attribute", "translate", "cues"}
    assert hits == {"diarize"}

    # A display name is not an input of any stage.
    named = load_config(
        None, {"translate.engine": "whisper", "diarization.names": {"SPEAKER_00": "Operator"}}
    )
    renamed, ran, _ = run(clip, named, english_models, root)
    assert ran == {"cues"}
    assert renamed.speakers == {"SPEAKER_00": "Operator"}

    # Another Whisper engine is another recogniser: recognition and what follows rerun.
    torch_engine = load_config(
        None, {"translate.engine": "whisper", "asr.engine": "openai-whisper"}
    )
    _, ran, hits = run(clip, torch_engine, Models(torch_engine), root)
    assert ran == {"extract", "asr", "overlap", "attribute", "translate", "cues"}
    assert hits == {"vad", "diarize"}

    # A damaged entry is recomputed, not trusted.
    for entry in (root / "attribute").glob("*.json"):
        entry.write_text("{ not json")
    repaired, ran, _ = run(clip, named, english_models, root)
    assert ran == {"attribute", "cues"}
    assert without_timing(repaired) == without_timing(renamed)


def test_a_cached_diarization_keeps_how_clear_its_count_was():
    import json

    from pipeline.cache import load_diarization, plain
    from pipeline.stages.diarize import DiarizationResult
    from pipeline.types import SpeakerCount, SpeakerTurn

    count = SpeakerCount(2, "threshold", margin=0.05, scores={"1": 0.1, "2": 0.5, "3": 0.45})
    result = DiarizationResult([SpeakerTurn(0.0, 1.0, "SPEAKER_00")], [], ["SPEAKER_00"], count)
    stored = json.loads(json.dumps(plain(result)))
    assert load_diarization(stored) == result
    stored.pop("count")  # an entry written before counts were recorded
    assert load_diarization(stored).count is None
