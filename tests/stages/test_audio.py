import http.server
import subprocess
import threading
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import AudioOptions
from pipeline.errors import PipelineError
from pipeline.stages.audio import decode_stream, load_audio
from pipeline.types import SAMPLE_RATE
from tests.support import ffmpeg

VIDEO = ["-f", "lavfi", "-t", "10", "-i", "color=c=gray:s=64x36:r=5"]
CONTAINERS = {
    "mp4": [*VIDEO, "-c:v", "libx264", "-c:a", "aac"],
    "mkv": [*VIDEO, "-c:v", "libx264", "-c:a", "libopus"],
    "webm": [*VIDEO, "-c:v", "libvpx", "-c:a", "libopus"],
    "mov": [*VIDEO, "-c:v", "libx264", "-c:a", "aac"],
    "m4a": ["-c:a", "aac"],
    "mp3": ["-c:a", "libmp3lame"],
    "ogg": ["-c:a", "libvorbis"],
    "wav": [],
    "flac": [],
}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_extracts_speech_from_each_container(container, short_speech, tmp_path):
    clip = tmp_path / f"clip.{container}"
    ffmpeg("-i", short_speech, *CONTAINERS[container], "-shortest", clip)

    audio = load_audio(clip)

    reference = decode_stream(short_speech, 0)
    assert audio.samples.dtype == np.float32
    assert audio.source.sample_rate == SAMPLE_RATE
    assert abs(audio.duration - len(reference) / SAMPLE_RATE) < 0.15
    assert audio.source.audio_offset == pytest.approx(0.0, abs=0.05)
    assert len(audio.source.sha256) == 64
    # Lossy codecs shift samples by their priming delay; find it, then compare.
    lag = int(np.argmax(np.correlate(audio.samples[:8000], reference[:4000], "valid")))
    assert _correlation(audio.samples[lag:], reference) > 0.9


def test_late_audio_keeps_its_place_on_the_clip_timeline(short_speech, tmp_path):
    clip = tmp_path / "late.mp4"
    ffmpeg(
        *VIDEO,
        "-itsoffset",
        "0.5",
        "-i",
        short_speech,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        clip,
    )

    audio = load_audio(clip)

    # AAC priming (1024 samples at 16 kHz) moves the stream start a little earlier.
    assert audio.source.audio_offset == pytest.approx(0.5, abs=0.07)


def _two_language_clip(short_speech: Path, tmp_path: Path) -> Path:
    clip = tmp_path / "dub.mkv"
    ffmpeg(
        "-i",
        short_speech,
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=16000:cl=mono",
        "-t",
        "3",
        "-map",
        "1:a",
        "-map",
        "0:a",
        "-c:a",
        "flac",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=rus",
        "-disposition:a:0",
        "default",
        "-disposition:a:1",
        "0",
        clip,
    )
    return clip


def test_picks_the_default_audio_stream_or_the_one_asked_for(short_speech, tmp_path):
    clip = _two_language_clip(short_speech, tmp_path)

    default = load_audio(clip)
    by_language = load_audio(clip, AudioOptions(language="rus"))
    by_index = load_audio(clip, AudioOptions(stream=1))

    assert default.source.audio_language == "eng"
    assert np.abs(default.samples).max() == 0.0
    assert by_language.source.audio_language == "rus"
    assert by_index.source.audio_stream_index == by_language.source.audio_stream_index
    assert np.abs(by_language.samples).max() > 0.1


def test_unknown_audio_stream_or_language_is_an_error(short_speech, tmp_path):
    clip = _two_language_clip(short_speech, tmp_path)
    with pytest.raises(PipelineError, match="2 audio stream"):
        load_audio(clip, AudioOptions(stream=2))
    with pytest.raises(PipelineError, match="no audio stream in language 'deu'"):
        load_audio(clip, AudioOptions(language="deu"))


def _empty_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: d, "not a regular file"),
        (lambda d: _write(d / "notes.mp4", "just text, not media"), "not a readable media file"),
        (
            lambda d: _write(d / "cut.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64)),
            "not a readable media file",
        ),
        (lambda d: _video_only(d / "silent-film.mp4"), "no audio stream"),
        (lambda d: _empty_wav(d / "empty.wav"), "zero-length audio"),
    ],
    ids=["missing", "folder", "text", "truncated", "no-audio", "zero-length"],
)
def test_bad_input_is_one_clear_error_naming_the_file(make, problem, tmp_path):
    path = make(tmp_path)
    with pytest.raises(PipelineError) as error:
        load_audio(path)
    assert problem in str(error.value)
    assert path.name in str(error.value)
    assert "\n" not in str(error.value)


@pytest.fixture
def local_server(tmp_path):
    """An HTTP server on 127.0.0.1 that answers for the files in `served/`, and logs requests."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, format, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served, requests
    server.shutdown()
    server.server_close()


def test_network_protocols_are_not_followed(tmp_path, short_speech, local_server):
    url, served, requests = local_server
    ffmpeg("-i", short_speech, "-c:a", "aac", "-f", "mpegts", served / "speech.ts")
    with urllib.request.urlopen(f"{url}/speech.ts") as answer:  # the server does answer
        assert answer.read() == (served / "speech.ts").read_bytes()
    playlist = tmp_path / "remote.m3u8"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:3.0,\n{url}/speech.ts\n#EXT-X-ENDLIST\n"
    )
    followed = subprocess.run(  # a playlist ffmpeg would follow, were it allowed to
        [
            "ffprobe",
            "-v",
            "error",
            "-protocol_whitelist",
            "file,http,tcp",
            "-show_streams",
            playlist,
        ],
        capture_output=True,
        text=True,
    )
    assert "codec_name=aac" in followed.stdout and requests
    requests.clear()
    with pytest.raises(PipelineError, match=r"remote\.m3u8"):
        load_audio(playlist)
    assert requests == [], "ffmpeg fetched a URL named inside a local file"


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _video_only(path: Path) -> Path:
    ffmpeg(*VIDEO, "-t", "1", "-c:v", "libx264", path)
    return path
