"""The asterisk prompts that benchmarks and speaker sets are built from: speech only."""

from __future__ import annotations

from pipeline.evaluation import prompts
from pipeline.evaluation.prompts import SOUNDS, is_speech, prompt_texts, speech_recordings


def test_sounds_described_in_brackets_are_not_speech():
    texts = prompt_texts()
    assert texts["tt-monkeys"] == "[sound of monkeys screaming]"
    assert not is_speech(texts["tt-monkeys"])
    assert not is_speech(texts["confbridge-join"])  # <beep ascending>
    assert is_speech(texts["conf-kicked"]) and is_speech(texts["auth-thankyou"])


def test_only_recordings_of_speech_are_used():
    names = {path.stem for path in speech_recordings()}
    for sound in ("tt-monkeys", "beep", "beeperr", "confbridge-join", "ascending-2tone"):
        assert (SOUNDS / f"{sound}.wav").is_file() and sound not in names
    assert {"conf-kicked", "tt-monkeysintro", "goodbye"} <= names
    assert len(names) > 300  # the long bench inputs repeat them: about 20 minutes


def test_without_the_prompt_texts_there_is_nothing_to_build_from(monkeypatch, tmp_path):
    # bench and batch bench then say which package to install, instead of a traceback
    monkeypatch.setattr(prompts, "TEXTS", tmp_path / "core-sounds-ru.txt.gz")
    assert speech_recordings() == []
