"""Burned-in subtitles: ffmpeg/libass on a phone-sized frame, the audio copied untouched."""

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pipeline
from pipeline.config import OutputOptions
from pipeline.errors import PipelineError
from pipeline.publish.burn import burn_subtitles
from pipeline.types import Transcript
from tests.publish.conftest import CLIP_SECONDS
from tests.support import ASTERISK_RU, run_pipeline

WIDTH, HEIGHT = 360, 640  # a phone held upright


def ffmpeg(*args) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", *map(str, args)], capture_output=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def phone_clip(sample_run, tmp_path_factory) -> Path:
    """The sample run's audio (AAC, as recorded) under an upright grey picture."""
    clip = tmp_path_factory.mktemp("phone") / "upright.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=gray:s={WIDTH}x{HEIGHT}:r=25:d={CLIP_SECONDS}",
        "-i", sample_run.clip, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "copy",
        "-t", CLIP_SECONDS, clip,
    )  # fmt: skip
    return clip


@pytest.fixture(scope="module")
def transcript(sample_run) -> Transcript:
    return pipeline.load(sample_run.json)


@pytest.fixture(scope="module")
def burned(sample_run, phone_clip, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("burned")
    command = ["render", sample_run.json, "--clip", phone_clip, "--out", out, "--burn", "ru", "-q"]
    result = run_pipeline(*command, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no installed font" not in result.stderr  # every Cyrillic letter had a glyph
    return out / "upright.ru.mp4"


def frame(path: Path, seconds: float) -> np.ndarray:
    raw = ffmpeg(
        "-ss", seconds, "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"
    )
    return np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH).astype(int)


def audio_md5(path: Path) -> bytes:
    return ffmpeg("-i", path, "-map", "0:a:0", "-c", "copy", "-f", "md5", "-")


def test_the_audio_stream_is_copied_bit_for_bit(phone_clip, burned):
    assert audio_md5(burned) == audio_md5(phone_clip)


def test_subtitles_show_while_their_cue_is_on_and_only_then(phone_clip, burned, transcript):
    cues = transcript.cues["ru"]
    edges = [0.0, *(t for cue in cues for t in (cue.start, cue.end)), transcript.source.duration]
    quiet = max(zip(edges[::2], edges[1::2], strict=True), key=lambda span: span[1] - span[0])
    assert quiet[1] - quiet[0] > 0.2  # before, between or after the cues
    cue = cues[0]
    plain = frame(phone_clip, cue.start)
    during = abs(frame(burned, (cue.start + cue.end) / 2) - plain)
    between = abs(frame(burned, sum(quiet) / 2) - plain)
    bottom = slice(int(HEIGHT * 0.7), HEIGHT)
    assert (during[bottom] > 60).sum() > 500  # white letters, black outline, on grey
    assert (between[bottom] > 60).sum() == 0
    assert (during[: HEIGHT // 2] > 60).sum() == 0


def test_text_is_readable_and_fits_an_upright_phone_frame(phone_clip, burned, transcript):
    shown = [cue for cue in transcript.cues["ru"] if len(cue.lines) == 2]
    cue = max(shown, key=lambda c: max(map(len, c.lines)))  # the widest lines
    ink = abs(frame(burned, (cue.start + cue.end) / 2) - frame(phone_clip, cue.start)) > 60
    rows, columns = np.nonzero(ink)
    assert columns.min() > WIDTH * 0.01 and columns.max() < WIDTH * 0.99  # nothing cut off
    assert columns.max() - columns.min() > WIDTH * 0.5  # the line uses the width
    assert rows.max() - rows.min() > HEIGHT * 0.04  # two lines of text, each over 2 % high


def test_a_character_no_font_has_is_reported(phone_clip, transcript, tmp_path, caplog):
    transcript.cues["ru"][0].lines = ["Здравствуйте 中"]
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        burn_subtitles(transcript, "ru", phone_clip, tmp_path, OutputOptions())
    assert "U+4E2D '中'" in caplog.text and "U+0417" not in caplog.text


def test_no_video_or_no_track_is_a_clear_error_and_writes_nothing(sample_run, tmp_path):
    transcript = pipeline.load(sample_run.json)
    audio_only = ASTERISK_RU / "conf-kicked.wav"
    with pytest.raises(PipelineError, match="no video stream to burn subtitles into"):
        burn_subtitles(transcript, "ru", audio_only, tmp_path / "out", OutputOptions())
    del transcript.cues["en"]
    with pytest.raises(PipelineError, match="no en subtitles to burn"):
        burn_subtitles(transcript, "en", sample_run.clip, tmp_path / "out", OutputOptions())
    assert not (tmp_path / "out").exists()


def test_render_checks_the_clip_before_writing_any_file(sample_run, tmp_path):
    out = tmp_path / "out"
    audio_only = ASTERISK_RU / "conf-kicked.wav"
    command = ["render", sample_run.json, "--clip", audio_only, "--out", out, "--burn", "en"]
    result = run_pipeline(*command, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {audio_only}: no video stream to burn subtitles into"
    assert not out.exists()
