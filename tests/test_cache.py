"""The stage cache: one stage's options changed -> that stage and those after it run again."""

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


def test_a_missing_or_corrupt_entry_is_a_miss(tmp_path):
    cache = StageCache(tmp_path)
    key = cache.key("vad", {"input": "x"})
    assert cache.get("vad", key, lambda v: v) is None
    cache.put("vad", key, [[1, 2]])
    assert cache.get("vad", key, lambda v: v) == [[1, 2]]
    cache.path("vad", key).write_text('{"stage": "vad", "key": "')  # cut off mid-write
    assert cache.get("vad", key, lambda v: v) is None
    other = cache.key("vad", {"input": "y"})
    cache.path("vad", other).write_text(cache.path("vad", key).read_text())
    assert cache.get("vad", other, lambda v: v) is None  # not what its name says
    assert StageCache(None).get("vad", key, lambda v: v) is None


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

    # Only translation settings change: only translation runs (its Whisper engine
    # listens to the audio, so the audio is decoded; nothing else is recomputed).
    english = load_config(None, {"translate.engine": "whisper"})
    english_models = Models(english)
    translated, ran, hits = run(clip, english, english_models, root)
    assert ran == {"extract", "translate", "cues"}
    assert hits == {"vad", "diarize", "asr", "overlap", "attribute"}
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

    # A damaged entry is recomputed, not trusted.
    for entry in (root / "attribute").glob("*.json"):
        entry.write_text("{ not json")
    repaired, ran, _ = run(clip, named, english_models, root)
    assert ran == {"attribute", "cues"}
    assert without_timing(repaired) == without_timing(renamed)
