"""The speaker count bench on real speech with the real offline diarization."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyannote.audio

from pipeline.evaluation.speaker_bench import main

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
