"""One clip through every stage, in order: the pipeline's main path.

extract audio -> find speech -> recognise -> lay out cues -> write files.
Stages exchange only the types in `pipeline.types`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

import numpy as np

from pipeline.cache import (
    CACHE_DIR,
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
from pipeline.errors import PipelineError
from pipeline.models.registry import Models
from pipeline.sharing import SharedWindows
from pipeline.stages.asr import Recognition, recognise
from pipeline.stages.attribution import apply_recovery, attribute_segments
from pipeline.stages.audio import check_local_file
from pipeline.stages.checks import check_sentences
from pipeline.stages.diarize import DiarizationResult, diarize
from pipeline.stages.fetch import output_name
from pipeline.stages.overlap import overlap_windows, recover_overlaps
from pipeline.stages.sentences import build_sentences
from pipeline.stages.subtitles import build_tracks
from pipeline.stages.translate import TARGET, translate_sentences
from pipeline.stages.vad import detect_speech, group_regions
from pipeline.stages.writers import LONGEST_SUFFIX, output_pattern, write_outputs
from pipeline.timing import StageClock
from pipeline.types import (
    SAMPLE_RATE,
    Download,
    ModelInfo,
    Recovery,
    Segment,
    Sentence,
    SpeechRegion,
    Transcript,
)

log = logging.getLogger("pipeline")
T = TypeVar("T")

NO_SPEECH = "no speech found"
_PACKAGES = [
    "evidence-subtitles",
    "faster-whisper",
    "ctranslate2",
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
    heard = _listen(audio, config, models, cache, clock, progress)
    speakers, recognition = heard.speakers, heard.recognition
    options = config.diarization
    (segments, sentences), sentences_key = cache.run(
        "attribute",
        {
            "asr": heard.asr_key,
            "diarize": heard.diarize_key,
            "overlap": heard.overlap_key,
            "options": [options.min_turn_words, options.keep_share] if options.enabled else None,
        },
        lambda: _attribute(recognition.segments, heard.recovered, speakers, config),
        load_attribution,
        clock,
    )
    translator = models.translator
    if translator is not None:
        _translate(sentences, sentences_key, recognition, config, models, cache, clock)
    speaker_names = {label: options.names.get(label, label) for label in speakers.speakers}
    with clock.stage("cues"):
        cues, violations = build_tracks(
            [word for segment in segments for word in segment.words],
            sentences,
            recognition.language,
            TARGET if translator is not None else None,
            config.output,
            source.frame_rate,
            speaker_names if config.output.speaker_prefix and speaker_names else None,
        )
    if violations:
        log.info("subtitle rules: %d cue(s) still break a rule", len(violations))
    return Transcript(
        source=source,
        language=recognition.language,
        segments=segments,
        turns=speakers.turns,
        exclusive_turns=speakers.exclusive_turns,
        speakers=speaker_names,
        sentences=sentences,
        cues=cues,
        speech_regions=[_shift(r, source.audio_offset) for r in heard.regions],
        speaker_count=speakers.count,
        models=_model_record(config, models),
        config=config.model_dump(mode="json"),
        versions=package_versions(),
        stage_seconds=clock.seconds,
        notes=_notes(recognition.dropped, source.damage, segments),
        violations=violations,
    )


@dataclass
class _Heard:
    """What the stages that listen to the audio found, with their cache keys."""

    regions: list[SpeechRegion]
    recognition: Recognition
    asr_key: str | None
    speakers: DiarizationResult
    diarize_key: str | None
    recovered: Recovery
    overlap_key: str | None


def _listen(
    audio: ClipAudio,
    config: Config,
    models: Models,
    cache: StageCache,
    clock: StageClock,
    progress: bool,
) -> _Heard:
    """Speech, recognition, speakers and the words under overlapping speakers.

    Diarization needs only the audio: it starts first, on its own thread and core, while
    speech is found and recognised on the other; once diarized, that thread decodes the
    overlap stage's windows while recognition may still run.
    """
    offset = audio.source.audio_offset
    english_beam = getattr(models.translator, "english_beam", None)
    vad_parts = {"audio": audio.key, "vad": config.vad, "model": models.vad_info}
    asr_parts = {
        "vad": cache.key("vad", vad_parts),
        "asr": config.asr,
        "model": models.whisper.info,
        "english_beam": english_beam,
    }
    diarizing = config.diarization.enabled
    diarize_parts = {
        "audio": audio.key,
        "diarization": diarization_options(config.diarization),
        "models": models.diarization.infos if diarizing else None,
    }
    overlap_parts = {
        "asr": cache.key("asr", asr_parts),
        "diarize": cache.key("diarize", diarize_parts) if diarizing else None,
        "overlap": config.overlap,
    }
    overlap_decodes = window_decoder(lambda: audio.samples, offset, config, models)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="diarize") as background:
        models.diarization_cores(1)  # recognition runs beside it on the other core
        diarization = _later((DiarizationResult([], [], []), None))
        if diarizing:
            diarization = _alongside(
                background,
                config.runtime.parallel,
                lambda: cache.run(
                    "diarize",
                    diarize_parts,
                    lambda: diarize_audio(audio.samples, offset, config, models),
                    load_diarization,
                    clock,
                ),
            )
            if config.runtime.parallel and not cache.has("overlap", overlap_parts):
                background.submit(_overlap_head_start, overlap_decodes, diarization, config)
        try:
            (regions, windows), _ = cache.run(
                "vad",
                vad_parts,
                lambda: _find_speech(audio.samples, config, models),
                load_speech,
                clock,
            )
            log.info(
                "speech: %.1f s in %d stretch(es)",
                sum(r.end - r.start for r in regions),
                len(regions),
            )
            recognition, asr_key = cache.run(
                "asr",
                asr_parts,
                lambda: recognise(
                    audio.samples,
                    windows,
                    models.whisper,
                    config.asr,
                    offset,
                    progress,
                    english_beam,
                ),
                load_recognition,
                clock,
            )
            if config.runtime.parallel:
                models.diarization_cores(2)  # recognition's core is free now
            speakers, diarize_key = diarization()
            models.diarization_cores(1)
            if diarizing:
                log.info("speakers: %d found%s", len(speakers.speakers), _count_doubt(speakers))
            log.info(
                "recognised: %d segment(s), %d word(s) with %s",
                len(recognition.segments),
                sum(len(s.words) for s in recognition.segments),
                models.whisper.info.name,
            )
            recovered, overlap_key = cache.run(
                "overlap",
                overlap_parts,  # the keys of the asr and diarize stages just run or read
                lambda: recover_overlaps(
                    recognition.segments, speakers.turns, overlap_decodes, config.overlap
                ),
                load_recovery,
                clock,
            )
        finally:
            overlap_decodes.close()  # a head start still at work stops after its window
    return _Heard(regions, recognition, asr_key, speakers, diarize_key, recovered, overlap_key)


def _translate(
    sentences: list[Sentence],
    sentences_key: str | None,
    recognition: Recognition,
    config: Config,
    models: Models,
    cache: StageCache,
    clock: StageClock,
) -> None:
    """Each sentence's English (in place), then the checks that say which to verify."""
    translator = models.translator
    log.info("translation: %s", translator.info.name)
    translations, _ = cache.run(
        "translate",
        {"sentences": sentences_key, "translate": config.translate, "model": translator.info},
        lambda: [
            (s.translation or "", s.translation_confidence, s.translation_word_logprobs)
            for s in translate_sentences(
                sentences, translator, recognition.english, config.asr.max_repeats
            )
        ],
        load_translations,
        clock,
    )
    for sentence, (text, confidence, word_logprobs) in zip(sentences, translations, strict=True):
        sentence.translation = text
        sentence.translation_confidence = confidence
        sentence.translation_word_logprobs = word_logprobs
    wanted = config.checks.unknown_words and recognition.language == "ru"
    dictionary = models.russian_words if wanted else None
    check_sentences(sentences, config.checks, config.asr.glossary, recognition.language, dictionary)


def _notes(dropped: list[str], damage: str | None, segments: list[Segment]) -> list[str]:
    notes = [f"dropped as a known Whisper hallucination: {text}" for text in dropped]
    if damage:
        notes.append(f"damaged media, only what decoded was transcribed: {damage}")
    if not segments:
        notes.append(NO_SPEECH)
    return notes


def _count_doubt(speakers: DiarizationResult) -> str:
    count = speakers.count
    if count is None or not count.uncertain:
        return ""
    others = {n: score for n, score in count.scores.items() if n != str(count.speakers)}
    other = max(others, key=others.get) if others else "another count"
    return (
        f" (uncertain: {other} would fit about as well; if you know how many people speak, "
        "rerun with --set diarization.num_speakers=N)"
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


def window_decoder(
    samples: Callable[[], np.ndarray], offset: float, config: Config, models: Models
) -> SharedWindows[tuple[float, float], list[Segment]]:
    """Recognition of windows (clip timeline) for the overlap stage: the first pass's
    model, options and filters, on the `samples()` that start at `offset` (asked for only
    when a window is decoded: a clip read back from the cache is not decoded). Two windows
    are decoded at once when the model can and `runtime.parallel` allows two busy threads."""
    return SharedWindows(
        lambda span: decode_window(samples(), offset, config, models, span),
        _overlap_workers(config, models),
    )


def decode_window(
    samples, offset: float, config: Config, models: Models, span: tuple[float, float]
) -> list[Segment]:
    """The segments of one window (clip timeline) of `samples`, which start at `offset`."""
    start, end = span
    duration = len(samples) / SAMPLE_RATE
    window = SpeechRegion(max(0.0, start - offset), min(duration, end - offset))
    return recognise(samples, [window], models.whisper, config.asr, offset, False).segments


def _overlap_workers(config: Config, models: Models) -> int:
    return models.whisper.concurrent_calls if config.runtime.parallel else 1


def _overlap_head_start(
    decodes: SharedWindows,
    diarization: Callable[[], tuple[DiarizationResult, str | None]],
    config: Config,
) -> None:
    """On the diarization thread, once it is done: start on the overlap stage's windows."""
    speakers, _ = diarization()
    decodes.offer(overlap_windows(speakers.turns, config.overlap))
    decodes.help()


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


def diarize_audio(samples, offset: float, config: Config, models: Models) -> DiarizationResult:
    """The diarization stage on one clip's samples, with the configured speaker counts."""
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
    download: Download | None = None,
) -> tuple[Transcript, list[Path]]:
    """Process `clip` and write its output files into `out_dir`.

    `download`: how `clip` was fetched from a link (`pipeline.stages.fetch`); it goes
    into the JSON's `source` and names the outputs, `<media id>-<SHA-256 prefix>`.
    """
    clip = Path(clip)
    check_paths(clip, out_dir)
    transcript = process_clip(clip, config, models, progress, clock, cache)
    formats = config.output.formats
    if not config.diarization.enabled:
        formats = [fmt for fmt in formats if fmt != "rttm"]
    named = clip
    if download is not None:
        transcript.source.download = download
        named = Path(output_name(download))
    paths = write_outputs(
        transcript,
        named,
        out_dir,
        formats,
        config.output.speaker_prefix,
        config.output.vtt_name_text,
        media=clip,
    )
    return transcript, paths


def check_paths(clip: Path, out_dir: Path, other_inputs: Iterable[Path] = ()) -> None:
    """Before any work: the clip can be read, no output would replace an input (the clip,
    a config file, a model), and the output folder exists and takes files of these names."""
    check_local_file(clip)
    for path in [Path(clip), *other_inputs]:
        refuse_output_over(path, Path(clip).stem, out_dir)
    prepare_out_dir(out_dir)
    _check_name_length(clip, out_dir)


@contextmanager
def folder_removed_on_failure(out_dir: Path) -> Iterator[None]:
    """Remove the output folders this run created (while they hold no more than its stage
    cache) if it fails: a refused or failed clip leaves nothing behind, not even an empty
    folder. A folder that held anything before the run keeps its cache for the next try."""
    missing = [p for p in [out_dir.absolute(), *out_dir.absolute().parents] if not p.exists()]
    try:
        yield
    except BaseException:
        cache = out_dir.absolute() / CACHE_DIR
        if missing and cache.is_dir() and [p.name for p in missing[0].iterdir()] == [CACHE_DIR]:
            shutil.rmtree(cache, ignore_errors=True)  # made by this run: nothing else was here
        for folder in missing:  # the deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def refuse_output_over(path: Path, stem: str, out_dir: Path) -> None:
    """An error if one of the files named after `stem` in `out_dir` would be `path`."""
    if not path.is_file():
        return
    same_folder = path.resolve().parent == out_dir.resolve()
    if same_folder and output_pattern(stem).fullmatch(path.name):
        raise PipelineError(
            str(path),
            f"an input that an output written into {out_dir} would replace: "
            "choose another output folder",
        )


def prepare_out_dir(out_dir: Path) -> None:
    """Create the output folder and check that a file can be written into it."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PipelineError(str(out_dir), "output folder is a file") from None
    except NotADirectoryError:
        raise PipelineError(str(out_dir), "output folder lies under a file") from None
    except OSError as exc:
        raise PipelineError(str(out_dir), f"cannot create output folder: {exc.strerror}") from None
    try:
        with tempfile.TemporaryFile(dir=out_dir, prefix=".es-probe-"):
            pass
    except OSError as exc:
        raise PipelineError(
            str(out_dir), f"cannot write into the output folder: {exc.strerror}"
        ) from None


def _check_name_length(clip: Path, out_dir: Path) -> None:
    try:
        longest = os.pathconf(out_dir, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    needed = len((Path(clip).stem + LONGEST_SUFFIX).encode())
    if needed > longest:
        raise PipelineError(
            str(clip),
            f"name too long for its output files ({needed} bytes, the output folder allows "
            f"{longest}): rename the clip",
        )


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
