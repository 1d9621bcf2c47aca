"""Audio extraction: probe a local media file, pick its audio stream, decode it.

The decoded audio is 16 kHz mono float32 in memory. Its first sample sits at
`SourceInfo.audio_offset` seconds on the clip's presentation timeline (an
audio stream that starts after the video is common in phone clips); later
stages add that offset to every time they report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np

from pipeline.config import AudioOptions
from pipeline.errors import PipelineError
from pipeline.types import SAMPLE_RATE, SourceInfo

# Only local files are read: no network protocol, not even one named inside a
# playlist or concat list that sits on disk.
_LOCAL_ONLY = {"protocol_whitelist": "file"}

# Extensions of media files: a file named so that fails to probe is a broken clip.
MEDIA_EXTENSIONS = frozenset(
    {
        "3g2", "3gp", "aac", "ac3", "aif", "aifc", "aiff", "amr", "ape", "asf", "avi", "caf",
        "dts", "f4v", "flac", "flv", "m2ts", "m4a", "m4b", "m4v", "mka", "mkv", "mov", "mp2",
        "mp3", "mp4", "mpeg", "mpg", "mts", "mxf", "oga", "ogg", "ogv", "opus", "spx", "ts", "vob",
        "wav", "weba", "webm", "wma", "wmv", "wv",
    }
)  # fmt: skip


@dataclass
class Audio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    source: SourceInfo

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def load_audio(path: Path, options: AudioOptions | None = None, sha256: str | None = None) -> Audio:
    """Probe `path`, decode its chosen audio stream, describe what was read.

    `sha256`: the file's hash when the caller has it already (large files are read once).
    """
    options = options or AudioOptions()
    path = _check_local_file(path)
    info = probe(path)
    stream = choose_audio_stream(path, info["streams"], options)
    samples = decode_stream(path, stream["index"])
    if samples.size == 0:
        raise PipelineError(str(path), "the audio stream is empty (zero-length audio)")
    fmt = info.get("format", {})
    source = SourceInfo(
        name=path.name,
        sha256=sha256 or file_sha256(path),
        size_bytes=path.stat().st_size,
        container=fmt.get("format_name", "unknown"),
        duration=_float(fmt.get("duration")) or len(samples) / SAMPLE_RATE,
        audio_stream_index=int(stream["index"]),
        audio_codec=stream.get("codec_name", "unknown"),
        audio_language=stream.get("tags", {}).get("language"),
        audio_offset=_audio_offset(fmt, stream),
        sample_rate=SAMPLE_RATE,
        frame_rate=video_frame_rate(info["streams"]),
    )
    return Audio(samples=samples, source=source)


def probe(path: Path) -> dict[str, Any]:
    try:
        return ffmpeg.probe(_ffmpeg_name(path), **_LOCAL_ONLY)
    except ffmpeg.Error as exc:
        raise PipelineError(
            str(path), f"not a readable media file ({_ffmpeg_reason(exc)})"
        ) from None
    except FileNotFoundError:
        raise PipelineError("ffprobe", "not installed; run `make setup`") from None


def choose_audio_stream(
    path: Path, streams: list[dict[str, Any]], options: AudioOptions
) -> dict[str, Any]:
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise PipelineError(str(path), "no audio stream")
    if options.stream is not None:
        if options.stream >= len(audio):
            raise PipelineError(
                str(path), f"audio.stream={options.stream} but it has {len(audio)} audio stream(s)"
            )
        return audio[options.stream]
    if options.language:
        for stream in audio:
            if stream.get("tags", {}).get("language") == options.language:
                return stream
        found = sorted({s.get("tags", {}).get("language", "untagged") for s in audio})
        raise PipelineError(
            str(path), f"no audio stream in language {options.language!r} (has: {', '.join(found)})"
        )
    for stream in audio:
        if stream.get("disposition", {}).get("default"):
            return stream
    return audio[0]


def video_frame_rate(streams: list[dict[str, Any]]) -> float | None:
    """Frames per second of the first real video stream (cover art is not video)."""
    for stream in streams:
        if stream.get("codec_type") != "video":
            continue
        if stream.get("disposition", {}).get("attached_pic"):
            continue
        numerator, _, denominator = str(stream.get("avg_frame_rate", "0/0")).partition("/")
        try:
            rate = float(numerator) / float(denominator or 1)
        except (ValueError, ZeroDivisionError):
            continue
        if 0 < rate < 1000:
            return round(rate, 3)
    return None


def decode_stream(path: Path, stream_index: int) -> np.ndarray:
    """Decode one stream to 16 kHz mono float32, starting at its first sample."""
    command = (
        ffmpeg.input(_ffmpeg_name(path), **_LOCAL_ONLY)[str(stream_index)]
        .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=SAMPLE_RATE)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    )
    try:
        out, _ = command.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise PipelineError(str(path), f"cannot decode audio ({_ffmpeg_reason(exc)})") from None
    return np.frombuffer(out, dtype=np.float32).copy()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_local_file(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise PipelineError(str(path), "file not found")
    if not path.is_file():
        raise PipelineError(str(path), "not a regular file")
    return path.resolve()


def _ffmpeg_name(path: Path) -> str:
    # "file:" stops ffmpeg from reading a name like "rtmp:x" or "a:b.mp4" as a protocol.
    return f"file:{path}"


def _audio_offset(fmt: dict[str, Any], stream: dict[str, Any]) -> float:
    clip_start = _float(fmt.get("start_time")) or 0.0
    audio_start = _float(stream.get("start_time"))
    if audio_start is None:
        return 0.0
    return round(audio_start - clip_start, 6)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ffmpeg_reason(exc: ffmpeg.Error) -> str:
    lines = [line.strip() for line in (exc.stderr or b"").decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "ffmpeg failed"
    reason = lines[-1]
    prefix = "file:"
    # ffmpeg repeats the file name; the caller already names it.
    if reason.startswith(prefix) and ": " in reason:
        reason = reason.split(": ", 1)[1]
    return reason
