"""`<clip>.<track>.mp4`: a subtitle track burned into the video by ffmpeg and libass.

The cues are the SRT's (speaker names as text), drawn in DejaVu Sans, which has
Cyrillic and which `make setup` installs (`fonts-dejavu-core`). The size follows
the frame: about 5 % of its height, smaller where the longest allowed line
would not fit its width (a phone held upright). The video is re-encoded
(H.264); the audio stream the transcript was made from is copied untouched.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipeline.config import OutputOptions
from pipeline.errors import PipelineError
from pipeline.stages.audio import _LOCAL_ONLY, _ffmpeg_name, probe
from pipeline.stages.writers import render_srt
from pipeline.types import Transcript

log = logging.getLogger("pipeline")

FONT = "DejaVu Sans"
TRACKS = ("ru", "en", "ru-en")
# A subtitle line's height, as a share of the frame's height.
FONT_SHARE = 0.05
# DejaVu Sans's mean advance width in ems (measured 0.49 on a Russian subtitle line).
CHAR_WIDTH_EM = 0.5
# libass draws SRT cues on a 288-line canvas scaled to the frame.
_PLAY_RES_Y = 288
# What libass says when no installed font can draw a character (it draws nothing).
_NO_GLYPH = re.compile(r"failed to find any fallback with glyph 0x([0-9A-Fa-f]+)")


def burn_subtitles(
    transcript: Transcript,
    track: str,
    clip: Path,
    out_dir: Path,
    options: OutputOptions,
    stem: str | None = None,
) -> Path:
    """Write `<stem>.<track>.mp4` (default stem: the clip's) into `out_dir`, atomically."""
    clip = Path(clip)
    cues = transcript.cues.get(track)
    if cues is None:
        raise PipelineError(str(clip), f"no {track} subtitles to burn (has: {_tracks(transcript)})")
    width, height = check_burnable(clip)
    names = transcript.speakers if options.speaker_prefix and transcript.speakers else None
    style = subtitle_style(width, height, longest_line(track, options))
    target = Path(out_dir) / f"{stem or clip.stem}.{track}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")  # renamed into place when whole
    try:
        with tempfile.TemporaryDirectory(prefix="burn-") as work:
            (Path(work) / "cues.srt").write_text(render_srt(cues, names), encoding="utf-8")
            warnings = _ffmpeg(
                clip, transcript.source.audio_stream_index, style, staged.absolute(), work
            )
        os.chmod(staged, 0o644)
        os.replace(staged, target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    missing = missing_glyphs(warnings)
    if missing:
        log.warning("%s: no installed font can draw %s; shown as gaps", target, ", ".join(missing))
    return target


def missing_glyphs(ffmpeg_log: str) -> list[str]:
    """Characters libass could not draw, as U+XXXX, in order of first mention."""
    codes = dict.fromkeys(int(code, 16) for code in _NO_GLYPH.findall(ffmpeg_log))
    return [f"U+{code:04X} {chr(code)!r}" for code in codes]


def check_burnable(clip: Path) -> tuple[int, int]:
    """The clip's frame size, once sure it can be burned: checked before anything is written."""
    if not Path(clip).is_file():
        raise PipelineError(str(clip), "clip not found: burning needs the video (--clip)")
    size = frame_size(clip)
    check_font()
    return size


def frame_size(clip: Path) -> tuple[int, int]:
    """Width and height of the clip's first video stream as shown (rotation applied)."""
    video = next(
        (s for s in probe(clip)["streams"] if s.get("codec_type") == "video" and _moving(s)), None
    )
    if video is None:
        raise PipelineError(str(clip), "no video stream to burn subtitles into")
    width, height = int(video["width"]), int(video["height"])
    if abs(_rotation(video)) % 180 == 90:
        width, height = height, width
    return width, height


def subtitle_style(width: int, height: int, line_chars: int) -> str:
    """libass `force_style` for a frame of this size (numbers on the 288-line canvas)."""
    by_height = FONT_SHARE * height
    by_width = 0.94 * width / (line_chars * CHAR_WIDTH_EM)
    size_px = min(by_height, by_width)
    scale = _PLAY_RES_Y / height
    fields = {
        "FontName": FONT,
        "FontSize": round(size_px * scale, 1),
        "PrimaryColour": "&H00FFFFFF",
        "OutlineColour": "&H00000000",
        "BackColour": "&H80000000",
        "BorderStyle": 1,
        "Outline": round(max(1.0, size_px * 0.08) * scale, 2),
        "Shadow": 0,
        "MarginV": round(0.04 * height * scale, 1),
        "Alignment": 2,
    }
    return ",".join(f"{key}={value}" for key, value in fields.items())


def longest_line(track: str, options: OutputOptions) -> int:
    limits = options.line_chars
    return max(limits.get(code, limits.get("default", 42)) for code in track.split("-"))


def check_font() -> None:
    """Fail early when fontconfig has no DejaVu Sans with Cyrillic (libass would draw boxes)."""
    try:
        found = subprocess.run(
            ["fc-list", f":family={FONT}:lang=ru", "family"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        found = ""
    if FONT not in found:
        raise PipelineError(
            "burn", f"no {FONT} font with Cyrillic: install fonts-dejavu-core (make setup)"
        )


def _ffmpeg(clip: Path, audio_stream: int, style: str, out: Path, work: str) -> str:
    """Run the burn; return ffmpeg's warnings (libass's missing glyphs among them)."""
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y",
        "-protocol_whitelist", _LOCAL_ONLY["protocol_whitelist"],
        "-i", _ffmpeg_name(clip.absolute()),
        "-map", "0:v:0", "-map", f"0:{audio_stream}",
        # Run in `work`, so the filter names a fixed file: no clip name inside filter syntax.
        "-vf", f"subtitles=filename=cues.srt:charenc=UTF-8:force_style='{style}'",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"ffmpeg exited with {result.returncode}"
        raise PipelineError(str(clip), f"cannot burn subtitles ({reason})")
    return result.stderr


def _moving(stream: dict[str, Any]) -> bool:
    # A cover picture in an audio file is a "video" stream of one frame.
    return not stream.get("disposition", {}).get("attached_pic")


def _rotation(stream: dict[str, Any]) -> float:
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return float(side["rotation"])
    return float(stream.get("tags", {}).get("rotate", 0))


def _tracks(transcript: Transcript) -> str:
    return ", ".join(transcript.cues) or "none"
