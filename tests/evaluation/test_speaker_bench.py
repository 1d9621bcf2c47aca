"""The speaker count bench on real speech with the real offline diarization."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyannote.audio

from pipeline.evaluation.metrics import read_rttm
from pipeline.evaluation.speaker_bench import closest_voices, main
from pipeline.models.speaker_count import SAME_VOICE_COSINE
from pipeline.stages.audio import load_audio
from pipeline.types import SpeakerTurn

PYANNOTE_SAMPLE = Path(pyannote.audio.__file__).parent / "sample"


def test_counts_der_and_the_held_out_share_are_reported(tmp_path, prompts_wav, capsys):
    data = tmp_path / "two_voices"
    data.mkdir()
    for name in ("sample.wav", "sample.rttm"):
        shutil.copy(PYANNOTE_SAMPLE / name, data / name)

    status = main([str(data), "--single-voice", str(prompts_wav), "--tuned", "two_voices"])

    report = capsys.readouterr().out
    assert status == 0
    sample_row = next(line for line in report.splitlines() if "two_voices/sample" in line)
    # two people in pyannote's sample; DER measured 9.4 % with the default settings
    assert "(tuning) | 2/2 |" in sample_row
    der = float(sample_row.split("|")[3].strip().rstrip(" %"))
    assert 0 < der < 15
    assert float(sample_row.split("|")[5]) < SAME_VOICE_COSINE  # two people
    prompts_row = next(line for line in report.splitlines() if "prompts.wav" in line)
    assert "| 1/1 | – |" in prompts_row  # one recorded voice, no timing to score
    assert "held out: right count on 1 of 1 (100 %); tuning: right count on 1 of 1" in report


def test_a_folder_without_speaker_references_measures_nothing(tmp_path, capsys):
    (tmp_path / "words_only").mkdir()
    shutil.copy(PYANNOTE_SAMPLE / "sample.wav", tmp_path / "words_only" / "sample.wav")
    (tmp_path / "words_only" / "sample.txt").write_text("what is said\n", encoding="utf-8")

    assert main([str(tmp_path / "words_only")]) == 0
    assert (
        "held out: right count on 0 of 0; tuning: right count on 0 of 0" in capsys.readouterr().out
    )


def test_closest_voices_tell_one_voice_labelled_twice_from_two_people(models, prompts_wav):
    embedding = models.diarization.pipeline.embedding
    one_woman = load_audio(prompts_wav).samples
    half = len(one_woman) / 16000 / 2
    labelled_twice = [SpeakerTurn(0.0, half, "A"), SpeakerTurn(half, 2 * half, "B")]
    two_people = load_audio(PYANNOTE_SAMPLE / "sample.wav").samples
    their_turns = read_rttm(PYANNOTE_SAMPLE / "sample.rttm")

    assert closest_voices(one_woman, 0.0, labelled_twice, embedding) >= SAME_VOICE_COSINE
    assert closest_voices(two_people, 0.0, their_turns, embedding) < SAME_VOICE_COSINE
    only_one = [turn for turn in their_turns if turn.speaker == their_turns[0].speaker]
    assert closest_voices(two_people, 0.0, only_one, embedding) is None
