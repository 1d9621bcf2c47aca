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
from pipeline.attribution import attribute_segments
from pipeline.audio import load_audio
from pipeline.config import Config
from pipeline.diarize import DiarizationResult, diarize
from pipeline.models import Models
from pipeline.sentences import build_sentences
from pipeline.subtitles import build_tracks
from pipeline.timing import StageClock
from pipeline.translate import TARGET, translate_sentences
from pipeline.types import ModelInfo, SpeechRegion, Transcript
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
    "pyannote.audio",
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
    log.info(
        "speech: %.1f s in %d stretch(es)", sum(r.end - r.start for r in regions), len(regions)
    )

    speakers = DiarizationResult([], [], [])
    if config.diarization.enabled:
        with clock.stage("diarize"):
            speakers = _diarize(audio.samples, source.audio_offset, config, models)
        log.info("speakers: %d found", len(speakers.speakers))

    with clock.stage("asr"):
        recognition = recognise(
            audio.samples, windows, models.whisper, config.asr, source.audio_offset, progress
        )
    log.info(
        "recognised: %d segment(s), %d word(s) with %s",
        len(recognition.segments),
        sum(len(s.words) for s in recognition.segments),
        models.whisper.info.name,
    )

    segments = recognition.segments
    if config.diarization.enabled:
        with clock.stage("attribute"):
            options = config.diarization
            segments = attribute_segments(
                segments, speakers.exclusive_turns, options.min_turn_words, options.keep_share
            )

    words = [word for segment in segments for word in segment.words]
    sentences = build_sentences(segments)
    translator = models.translator
    if translator is not None:
        log.info("translation: %s", translator.info.name)
        with clock.stage("translate"):
            translate_sentences(sentences, translator, audio.samples, source.audio_offset)

    names = config.diarization.names
    speaker_names = {label: names.get(label, label) for label in speakers.speakers}
    with clock.stage("cues"):
        cues, violations = build_tracks(
            words,
            sentences,
            recognition.language,
            TARGET if translator is not None else None,
            config.output,
            source.frame_rate,
            speaker_names if config.output.speaker_prefix and speaker_names else None,
        )
    if violations:
        log.info("subtitle rules: %d cue(s) still break a rule", len(violations))

    notes = [f"dropped as a known Whisper hallucination: {text}" for text in recognition.dropped]
    if not segments:
        notes.append(NO_SPEECH)
    return Transcript(
        source=source,
        language=recognition.language,
        segments=segments,
        turns=speakers.turns,
        exclusive_turns=speakers.exclusive_turns,
        speakers=speaker_names,
        sentences=sentences,
        cues=cues,
        speech_regions=[_shift(r, source.audio_offset) for r in regions],
        models=_model_record(config, models),
        config=config.model_dump(mode="json"),
        versions=package_versions(),
        stage_seconds=clock.seconds,
        notes=notes,
        violations=violations,
    )


def _diarize(samples, offset: float, config: Config, models: Models) -> DiarizationResult:
    options = config.diarization
    return diarize(
        models.diarization.pipeline,
        samples,
        offset=offset,
        num_speakers=options.num_speakers,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
    )


def _model_record(config: Config, models: Models) -> list[ModelInfo]:
    record = [models.whisper.info, models.vad_info]
    if config.diarization.enabled:
        record += models.diarization.infos
    if models.translator is not None:
        record.append(models.translator.info)
    return record


def transcribe_clip(
    clip: Path, out_dir: Path, config: Config, models: Models, progress: bool = True
) -> tuple[Transcript, list[Path]]:
    """Process `clip` and write its output files into `out_dir`."""
    transcript = process_clip(clip, config, models, progress)
    formats = config.output.formats
    if not config.diarization.enabled:
        formats = [fmt for fmt in formats if fmt != "rttm"]
    paths = write_outputs(transcript, clip, out_dir, formats, config.output.speaker_prefix)
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
