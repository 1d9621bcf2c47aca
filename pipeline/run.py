"""One clip through every stage, in order: the pipeline's main path.

extract audio -> find speech -> recognise -> lay out cues -> write files.
Stages exchange only the types in `pipeline.types`.
"""

from __future__ import annotations

import logging
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.asr import recognise
from pipeline.audio import load_audio
from pipeline.config import Config
from pipeline.models import Models
from pipeline.subtitles import build_cues
from pipeline.timing import StageClock
from pipeline.types import SpeechRegion, Transcript
from pipeline.vad import detect_speech, group_regions
from pipeline.writers import write_outputs

log = logging.getLogger("pipeline")

NO_SPEECH = "no speech found"
_PACKAGES = [
    "evidence-subtitles",
    "openai-whisper",
    "torch",
    "numpy",
    "silero-vad",
    "ffmpeg-python",
    "srt",
    "webvtt-py",
]


def process_clip(
    clip: Path,
    config: Config,
    models: Models,
    progress: bool = True,
    clock: StageClock | None = None,
) -> Transcript:
    """Run every stage on `clip` and return the transcript; writes nothing."""
    clock = clock or StageClock()
    with clock.stage("extract"):
        audio = load_audio(clip, config.audio)
    source = audio.source
    log.info(
        "audio: %.1f s, %s stream %d, starts at %+.3f s on the clip's timeline",
        audio.duration,
        source.audio_codec,
        source.audio_stream_index,
        source.audio_offset,
    )

    with clock.stage("vad"):
        regions = detect_speech(audio.samples, models.vad, config.vad)
        windows = group_regions(regions, config.vad)
    speech_seconds = sum(r.end - r.start for r in regions)
    log.info("speech: %.1f s in %d stretch(es)", speech_seconds, len(regions))

    with clock.stage("asr"):
        recognition = recognise(
            audio.samples,
            windows,
            models.whisper,
            config.asr,
            offset=source.audio_offset,
            progress=progress,
        )
    log.info(
        "recognised: %d segment(s), %d word(s) with %s",
        len(recognition.segments),
        sum(len(s.words) for s in recognition.segments),
        models.whisper.info.name,
    )

    with clock.stage("cues"):
        cues = build_cues(recognition.segments, config.output)

    notes = [f"dropped as a known Whisper hallucination: {text}" for text in recognition.dropped]
    if not recognition.segments:
        notes.append(NO_SPEECH)
    return Transcript(
        source=source,
        language=recognition.language,
        segments=recognition.segments,
        cues={recognition.language: cues},
        speech_regions=[_shift(r, source.audio_offset) for r in regions],
        models=[models.whisper.info, models.vad_info],
        config=config.model_dump(mode="json"),
        versions=package_versions(),
        stage_seconds=clock.seconds,
        notes=notes,
    )


def transcribe_clip(
    clip: Path, out_dir: Path, config: Config, models: Models, progress: bool = True
) -> tuple[Transcript, list[Path]]:
    """Process `clip` and write its output files into `out_dir`."""
    transcript = process_clip(clip, config, models, progress)
    paths = write_outputs(transcript, clip, out_dir, config.output.formats)
    return transcript, paths


def package_versions() -> dict[str, str]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    versions["ffmpeg"] = _ffmpeg_version()
    return versions


def _ffmpeg_version() -> str:
    try:
        first = subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, check=True
        ).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"
    return first.split()[2] if len(first.split()) > 2 else first


def _shift(region: SpeechRegion, offset: float) -> SpeechRegion:
    return SpeechRegion(round(region.start + offset, 3), round(region.end + offset, 3))
