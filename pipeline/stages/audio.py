"""Audio extraction: probe a local media file, pick its audio stream, decode it.

The decoded audio is 16 kHz mono float32 in memory. Its first sample sits at
`SourceInfo.audio_offset` seconds on the clip's presentation timeline (an
audio stream that starts after the video is common in phone clips); later
stages add that offset to every time they report.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np

from pipeline.config import AudioOptions
from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.types import SAMPLE_RATE, SourceInfo

log = logging.getLogger("pipeline")

# Only local files, and only demuxers of real media files: no network protocol,
# and no playlist, concat list or other format that names further files, so one
# input is exactly one file (and its SHA-256 is the one on record).
MEDIA_DEMUXERS = (
    "aac,ac3,aiff,amr,amrnb,amrwb,ape,asf,au,avi,caf,dts,dtshd,dv,eac3,flac,flv,gsm,matroska,"
    "mlp,mov,mp3,mpeg,mpegts,mxf,nut,ogg,rm,truehd,tta,voc,w64,wav,webm,wv"
)
_LOCAL_ONLY = {"protocol_whitelist": "file", "format_whitelist": MEDIA_DEMUXERS}
# Decoded audio this much shorter than the container says is damage (a priming
# delay or the last partial frame is a few tens of milliseconds).
DURATION_TOLERANCE_S = 0.5
DURATION_TOLERANCE_SHARE = 0.02
# A mix of two channels this much quieter than the louder channel cancels itself
# out (one channel phase-inverted): the louder channel is used instead.
CANCELLING_MIX_RATIO = 0.25
# Peak below this (about -80 dBFS) is digital silence.
SILENT_PEAK = 1e-4

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
    path = check_local_file(path)
    info = probe(path)
    stream = choose_audio_stream(path, info["streams"], options)
    decoded = decode_stream_checked(path, stream)
    samples = decoded.samples
    if samples.size == 0:
        raise PipelineError(str(path), "the audio stream is empty (zero-length audio)")
    fmt = info.get("format", {})
    claimed = claimed_duration(info, stream)
    damage = describe_damage(len(samples) / SAMPLE_RATE, claimed, decoded.errors)
    if damage and not options.allow_damaged:
        raise PipelineError(
            str(path), f"damaged media: {damage}; --allow-damaged transcribes what decodes"
        )
    _warn_if_silent_beside_other_tracks(path, samples, stream, info["streams"])
    source = SourceInfo(
        name=path.name,
        sha256=sha256 or file_sha256(path),
        size_bytes=path.stat().st_size,
        container=fmt.get("format_name", "unknown"),
        duration=round(len(samples) / SAMPLE_RATE, 3),
        audio_stream_index=int(stream["index"]),
        audio_codec=stream.get("codec_name", "unknown"),
        audio_language=stream.get("tags", {}).get("language"),
        audio_offset=_audio_offset(fmt, stream),
        sample_rate=SAMPLE_RATE,
        frame_rate=video_frame_rate(info["streams"]),
        claimed_duration=None if claimed is None else round(claimed, 3),
        decode_errors=decoded.errors,
        damage=damage,
        channels_used=decoded.channels_used,
    )
    return Audio(samples=samples, source=source)


@dataclass
class Decoded:
    samples: np.ndarray
    errors: int  # error lines ffmpeg printed while decoding: corrupt or missing data
    channels_used: str | None = None  # set when not the usual mix of every channel


def decode_stream_checked(path: Path, stream: dict[str, Any]) -> Decoded:
    """Decode `stream`, counting ffmpeg's errors; a stereo pair that cancels out when
    mixed (one channel phase-inverted) gives its louder channel instead of silence."""
    channels = 2 if stream.get("channels") == 2 else 1
    raw, errors = _run_decoder(path, int(stream["index"]), channels)
    if channels == 1:
        return Decoded(raw, errors)
    samples, used = mono_of_pair(raw[: len(raw) // 2 * 2].reshape(-1, 2))
    if used:
        log.warning(
            "%s: the two channels cancel out when mixed (one is phase-inverted); using the %s",
            path,
            used.replace(" only", " channel alone"),
        )
    return Decoded(samples, errors, used)


def mono_of_pair(pair: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The mean of a (samples, 2) pair, or its louder channel (and which) when the mean
    is far quieter than that channel."""
    mix = pair.mean(axis=1, dtype=np.float32)
    levels = [_rms(pair[:, 0]), _rms(pair[:, 1])]
    louder = int(np.argmax(levels))
    if levels[louder] > 0 and _rms(mix) < CANCELLING_MIX_RATIO * levels[louder]:
        return np.ascontiguousarray(pair[:, louder]), f"{('left', 'right')[louder]} only"
    return mix, None


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def claimed_duration(info: dict[str, Any], stream: dict[str, Any]) -> float | None:
    """How long the container says the audio stream is (None when it does not say).

    The stream's own duration, else Matroska's DURATION tag; the whole file's
    duration only when there is no other stream that could make it longer.
    """
    duration = _float(stream.get("duration"))
    if duration is None:
        duration = _hms(stream.get("tags", {}).get("DURATION"))
    if duration is None and len(info.get("streams", [])) == 1:
        duration = _float(info.get("format", {}).get("duration"))
    return duration if duration is not None and duration > 0 else None


def describe_damage(decoded: float, claimed: float | None, errors: int) -> str | None:
    """What is wrong with a decode, in words; None when nothing is."""
    problems = []
    if claimed is not None:
        shortfall = claimed - decoded
        if shortfall > max(DURATION_TOLERANCE_S, DURATION_TOLERANCE_SHARE * claimed):
            problems.append(f"decoded {decoded:.1f} s of the {claimed:.1f} s it claims")
    if errors:
        problems.append(f"{errors} decoding error(s)")
        if not problems[:-1]:
            problems.insert(0, f"decoded {decoded:.1f} s")
    return ", ".join(problems) or None


def probe(path: Path) -> dict[str, Any]:
    try:
        return ffmpeg.probe(_ffmpeg_name(path), **_LOCAL_ONLY)
    except ffmpeg.Error as exc:
        refused = _refused_format(exc)
        if refused:
            raise PipelineError(
                str(path),
                f"not a media file this pipeline reads ({refused} input is refused: only "
                "audio and video containers, never a playlist or list naming other files)",
            ) from None
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
    return _run_decoder(path, stream_index, 1)[0]


def _run_decoder(path: Path, stream_index: int, channels: int) -> tuple[np.ndarray, int]:
    """Interleaved float32 samples at SAMPLE_RATE, and how many errors ffmpeg printed."""
    command = (
        ffmpeg.input(_ffmpeg_name(path), **_LOCAL_ONLY)[str(stream_index)]
        .output("pipe:", format="f32le", acodec="pcm_f32le", ac=channels, ar=SAMPLE_RATE)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "level+warning")
    )
    try:
        out, err = command.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise PipelineError(str(path), f"cannot decode audio ({_ffmpeg_reason(exc)})") from None
    errors = sum(1 for line in err.decode(errors="replace").splitlines() if _is_damage(line))
    return np.frombuffer(out, dtype=np.float32).copy(), errors


def _is_damage(line: str) -> bool:
    """An ffmpeg message (shown with its level) that says data was lost: every error, and
    the warning about a corrupt packet (a WAV cut short decodes with only that)."""
    return any(f"[{level}]" in line for level in ("error", "fatal", "panic")) or (
        "[warning]" in line and "corrupt" in line.lower()
    )


def check_local_file(path: Path) -> Path:
    """`path` resolved, if it is a regular file this process can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        problem = "dangling symbolic link" if path.is_symlink() else "file not found"
        raise PipelineError(str(path), problem) from None
    except OSError as exc:
        raise PipelineError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise PipelineError(str(path), f"not a regular file ({_file_kind(mode)})")
    if not os.access(path, os.R_OK):
        raise PipelineError(str(path), "cannot read: permission denied")
    return path.resolve()


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a plain file")


def _warn_if_silent_beside_other_tracks(
    path: Path, samples: np.ndarray, chosen: dict[str, Any], streams: list[dict[str, Any]]
) -> None:
    others = [
        s for s in streams if s.get("codec_type") == "audio" and s["index"] != chosen["index"]
    ]
    if others and float(np.max(np.abs(samples))) < SILENT_PEAK:
        described = ", ".join(
            f"stream {s['index']} ({s.get('tags', {}).get('language', 'untagged')})" for s in others
        )
        log.warning(
            "%s: the audio stream used (stream %s) is silent; the file has other audio: %s "
            "(choose one with --audio-stream or --audio-language)",
            path,
            chosen["index"],
            described,
        )


def _ffmpeg_name(path: Path) -> str:
    # "file:" stops ffmpeg from reading a name like "rtmp:x" or "a:b.mp4" as a protocol.
    return f"file:{path}"


def _audio_offset(fmt: dict[str, Any], stream: dict[str, Any]) -> float:
    clip_start = _float(fmt.get("start_time")) or 0.0
    audio_start = _float(stream.get("start_time"))
    if audio_start is None:
        return 0.0
    return round(audio_start - clip_start, 6)


def _hms(value: Any) -> float | None:
    """'00:00:44.800000000' (Matroska's DURATION tag) in seconds."""
    hours, _, rest = str(value or "").partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _refused_format(exc: ffmpeg.Error) -> str | None:
    """The demuxer ffmpeg refused as not on the allow-list, if that is why it failed."""
    for line in (exc.stderr or b"").decode(errors="replace").splitlines():
        if "Format not on whitelist" in line and line.startswith("["):
            return line[1:].split(" @ ", 1)[0].split(",", 1)[0]
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ffmpeg_reason(exc: ffmpeg.Error) -> str:
    text = (exc.stderr or b"").decode(errors="replace")
    # "[mov,mp4,... @ 0x55...] [error] " before the message: who said it, and how loudly.
    lines = [re.sub(r"^(\[[^\]]*\] )+", "", line.strip()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "ffmpeg failed"
    reason = lines[-1]
    prefix = "file:"
    # ffmpeg repeats the file name; the caller already names it.
    if reason.startswith(prefix) and ": " in reason:
        reason = reason.split(": ", 1)[1]
    return reason
