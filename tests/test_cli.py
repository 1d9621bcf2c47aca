import json
import subprocess
import sys
from pathlib import Path

import pytest
import srt
import webvtt

from tests.conftest import REPO, SAMPLE
from tests.support import word_error_rate

# Measured 12 % on the bundled sample (a synthetic male voice is the weaker half).
SAMPLE_WER_BOUND = 0.25


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    result = run_cli("transcribe", SAMPLE, "--out", out, "--quiet")
    return result, out


def test_transcribes_the_bundled_sample_into_three_files(sample_run):
    result, out = sample_run
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "council_sample.json",
        "council_sample.ru.srt",
        "council_sample.ru.vtt",
    ]


def test_sample_subtitles_read_back_and_match_the_reference(sample_run):
    _, out = sample_run
    cues = list(srt.parse((out / "council_sample.ru.srt").read_text(encoding="utf-8")))
    captions = webvtt.read(str(out / "council_sample.ru.vtt")).captions
    assert len(cues) == len(captions) > 5
    reference = (REPO / "samples" / "council_sample.ru.txt").read_text(encoding="utf-8")
    said = " ".join(cue.content for cue in cues)
    assert word_error_rate(reference, said) <= SAMPLE_WER_BOUND


def test_json_holds_what_is_needed_to_redo_the_analysis(sample_run):
    _, out = sample_run
    data = json.loads((out / "council_sample.json").read_text(encoding="utf-8"))
    assert data["schema_version"]
    source = data["source"]
    assert source["name"] == "council_sample.mp4" and len(source["sha256"]) == 64
    assert source["duration"] == pytest.approx(44.8, abs=0.2)
    assert source["audio_stream_index"] == 1 and source["audio_offset"] == 0.0
    asr = next(m for m in data["models"] if m["role"] == "asr")
    assert asr["name"] == "whisper-base" and len(asr["sha256"]) == 64
    assert "/" not in asr["source"]
    assert data["config"]["asr"]["language"] == "ru"
    assert {"openai-whisper", "torch", "ffmpeg"} <= data["versions"].keys()
    assert {"extract", "vad", "asr"} <= data["stage_seconds"].keys()
    word = data["segments"][0]["words"][0]
    assert {"text", "start", "end", "probability"} <= word.keys()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["transcribe", "no/such/clip.mp4"], "no/such/clip.mp4: file not found"),
        (["transcribe", "pyproject.toml"], "pyproject.toml: no audio stream"),
        (["transcribe", "samples/README.md"], "README.md: not a readable media file"),
        (
            ["transcribe", "samples/council_sample.mp4", "--set", "asr.modle=base"],
            "unknown option asr.modle",
        ),
        (["transcribe", "samples/council_sample.mp4", "--beam-size", "0"], "asr.beam_size"),
        (
            ["transcribe", "samples/council_sample.mp4", "--model", "huge"],
            "unknown Whisper model 'huge'",
        ),
        (
            ["transcribe", "samples/council_sample.mp4", "--audio-stream", "3"],
            "audio.stream=3 but it has 1 audio stream",
        ),
    ],
    ids=["missing", "no-audio", "not-media", "unknown-key", "bad-value", "bad-model", "bad-stream"],
)
def test_errors_are_one_line_with_no_traceback_and_no_output(args, problem, tmp_path):
    out = tmp_path / "out"
    result = run_cli(*args, "--out", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_help_documents_every_option():
    result = run_cli("transcribe", "--help")
    assert result.returncode == 0
    from pipeline.config import describe_options

    for key, _, _ in describe_options():
        assert key in result.stdout
