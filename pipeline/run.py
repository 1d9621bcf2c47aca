"""One clip through every stage, in order: the pipeline's main path.

extract audio -> find speech -> recognise -> lay out cues -> write files.
Stages exchange only the types in `pipeline.types`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

from pipeline.cache import (
    ClipAudio,
    StageCache,
    diarization_options,
    load_attribution,
    load_diarization,
    load_recognition,
    load_recovery,
    load_speech,
    load_translations,
)
from pipeline.config import Config
from pipeline.models.registry import Models
from pipeline.stages.asr import recognise
from pipeline.stages.attribution import attribute_segments
from pipeline.stages.diarize import DiarizationResult, diarize
from pipeline.stages.overlap import Recovery, apply_recovery, recover_overlaps
from pipeline.stages.sentences import build_sentences
from pipeline.stages.subtitles import build_tracks
from pipeline.stages.translate import TARGET, translate_sentences
from pipeline.stages.vad import detect_speech, group_regions
from pipeline.stages.writers import write_outputs
from pipeline.timing import StageClock
from pipeline.types import ModelInfo, Segment, Sentence, SpeechRegion, Transcript

log = logging.getLogger("pipeline")
T = TypeVar("T")

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
    cache: StageCache | None = None,
) -> Transcript:
    """Run every stage on `clip` and return the transcript; writes nothing.

    With a `cache` (see `pipeline.cache`), a stage whose input, options and model are
    unchanged is read back instead of run, and audio is decoded only if a stage runs.
    """
    clock = clock or StageClock()
    cache = cache or StageCache(None)
    audio = ClipAudio(clip, config.audio, cache, clock)
    source = audio.source
    log.info(
        "audio: %.1f s, %s stream %d, starts at %+.3f s on the clip's timeline",
        source.duration,
        source.audio_codec,
        source.audio_stream_index,
        source.audio_offset,
    )

    (regions, windows), vad_key = cache.run(
        "vad",
        {"audio": audio.key, "vad": config.vad, "model": models.vad_info},
        lambda: _find_speech(audio.samples, config, models),
        load_speech,
        clock,
    )
    log.info(
        "speech: %.1f s in %d stretch(es)", sum(r.end - r.start for r in regions), len(regions)
    )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="diarize") as background:
        diarization = _later((DiarizationResult([], [], []), None))
        if config.diarization.enabled:
            parts = {
                "audio": audio.key,
                "diarization": diarization_options(config.diarization),
                "models": models.diarization.infos,
            }
            diarization = _alongside(
                background,
                config.runtime.parallel,
                lambda: cache.run(
                    "diarize",
                    parts,
                    lambda: _diarize(audio.samples, source.audio_offset, config, models),
                    load_diarization,
                    clock,
                ),
            )
        recognition, asr_key = cache.run(
            "asr",
            {"vad": vad_key, "asr": config.asr, "model": models.whisper.info},
            lambda: recognise(
                audio.samples, windows, models.whisper, config.asr, source.audio_offset, progress
            ),
            load_recognition,
            clock,
        )
        speakers, diarize_key = diarization()
    if config.diarization.enabled:
        log.info("speakers: %d found", len(speakers.speakers))
    log.info(
        "recognised: %d segment(s), %d word(s) with %s",
        len(recognition.segments),
        sum(len(s.words) for s in recognition.segments),
        models.whisper.info.name,
    )

    recovered, overlap_key = cache.run(
        "overlap",
        {"asr": asr_key, "diarize": diarize_key, "overlap": config.overlap},
        lambda: recover_overlaps(
            audio.samples,
            recognition.segments,
            speakers.turns,
            models.whisper,
            config.asr,
            config.overlap,
            source.audio_offset,
        ),
        load_recovery,
        clock,
    )
    options = config.diarization
    (segments, sentences), sentences_key = cache.run(
        "attribute",
        {
            "asr": asr_key,
            "diarize": diarize_key,
            "overlap": overlap_key,
            "options": [options.min_turn_words, options.keep_share] if options.enabled else None,
        },
        lambda: _attribute(recognition.segments, recovered, speakers, config),
        load_attribution,
        clock,
    )
    words = [word for segment in segments for word in segment.words]
    translator = models.translator
    if translator is not None:
        log.info("translation: %s", translator.info.name)
        texts, _ = cache.run(
            "translate",
            {"sentences": sentences_key, "translate": config.translate, "model": translator.info},
            lambda: [
                s.translation or ""
                for s in translate_sentences(
                    sentences, translator, audio.samples, source.audio_offset
                )
            ],
            load_translations,
            clock,
        )
        for sentence, text in zip(sentences, texts, strict=True):
            sentence.translation = text

    speaker_names = {
        label: config.diarization.names.get(label, label) for label in speakers.speakers
    }
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


def _alongside(pool: ThreadPoolExecutor, parallel: bool, job: Callable[[], T]) -> Callable[[], T]:
    """Start `job` on `pool` (or run it now when not `parallel`); call the result to get it.

    Diarization and recognition need only the audio, and each runs torch on one
    thread, so on two cores they take the time of the longer instead of the sum.
    """
    if parallel:
        return pool.submit(job).result
    return _later(job())


def _later(value: T) -> Callable[[], T]:
    return lambda: value


def _find_speech(
    samples, config: Config, models: Models
) -> tuple[list[SpeechRegion], list[SpeechRegion]]:
    regions = detect_speech(samples, models.vad, config.vad)
    return regions, group_regions(regions, config.vad)


def _attribute(
    segments: list[Segment],
    recovered: Recovery,
    speakers: DiarizationResult,
    config: Config,
) -> tuple[list[Segment], list[Sentence]]:
    """Each word to its speaker (when diarizing), corrected and completed where speakers
    overlap (`pipeline.stages.overlap`), then whole sentences from the words."""
    options = config.diarization
    if options.enabled:
        segments = attribute_segments(
            segments, speakers.exclusive_turns, options.min_turn_words, options.keep_share
        )
        segments = apply_recovery(segments, recovered)
    return segments, build_sentences(segments)


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
    clip: Path,
    out_dir: Path,
    config: Config,
    models: Models,
    progress: bool = True,
    cache: StageCache | None = None,
    clock: StageClock | None = None,
) -> tuple[Transcript, list[Path]]:
    """Process `clip` and write its output files into `out_dir`."""
    transcript = process_clip(clip, config, models, progress, clock, cache)
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
