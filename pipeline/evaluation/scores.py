"""Scores of one evaluated file and of the whole dataset, from the measures in `metrics`."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.evaluation.datasets import EvalItem
from pipeline.evaluation.metrics import (
    AttributionErrors,
    CheckCounts,
    CheckLabel,
    DiarizationErrors,
    OverlapRecall,
    TextErrors,
    TranslationRow,
    TranslationScores,
    align_translations,
    check_counts,
    diarization_errors,
    overlap_recall,
    share_right_count,
    spans_outside_speech,
    text_errors,
    translation_scores,
    words_outside_speech,
    wrong_speaker_words,
)
from pipeline.types import SpeakerCount, SpeakerTurn

if TYPE_CHECKING:
    from pipeline.models.registry import Models
    from pipeline.types import Transcript

log = logging.getLogger("pipeline")

COLLAR = 0.5  # pyannote's collar is the total width: ±0.25 s around each reference boundary


@dataclass
class BaselineScores:
    """The plain whisper CLI on the same file."""

    seconds: float
    text: TextErrors | None  # digits as written
    text_numbers: TextErrors | None  # numbers spelled out on both sides
    cached: bool
    translation: TranslationScores | None = None  # its --task translate, where English is scored
    cpu_seconds: float | None = None
    translate_seconds: float | None = None
    # Files the CLI command ran on; above 1 the seconds are an equal share of its time.
    files_in_command: int = 1


@dataclass
class FileScores:
    """Every measure of one file; None where the dataset has no reference for it."""

    id: str
    media: str
    references: list[str]
    audio_seconds: float = 0.0
    seconds: float = 0.0  # the pipeline's wall time, models already loaded
    cpu_seconds: float = 0.0  # ... and its CPU time, all threads: less swayed by other load
    text: TextErrors | None = None
    text_numbers: TextErrors | None = None
    der: DiarizationErrors | None = None
    der_collar: DiarizationErrors | None = None
    speakers_found: int = 0
    speakers_reference: int | None = None
    speaker_count: SpeakerCount | None = None  # how clearly the count was chosen
    attribution: AttributionErrors | None = None
    overlap: OverlapRecall | None = None  # needs turns with text (TSV)
    hallucinated_words: int | None = None
    hallucinated_cues: int | None = None
    hallucinations: list[dict[str, Any]] = field(default_factory=list)
    translation: TranslationScores | None = None
    translation_rows: list[TranslationRow] = field(default_factory=list)
    checks: CheckCounts | None = None  # the English checks against hand labels
    cues: int = 0
    violations: dict[str, int] = field(default_factory=dict)  # by rule
    baseline: BaselineScores | None = None
    error: str | None = None

    @property
    def rtf(self) -> float | None:
        return self.seconds / self.audio_seconds if self.audio_seconds else None


@dataclass
class OverallScores:
    """Pooled over files: rates are total errors over total reference, not means of rates."""

    files: int
    failed: int
    audio_seconds: float
    seconds: float
    text: TextErrors | None
    text_numbers: TextErrors | None
    der: DiarizationErrors | None
    der_collar: DiarizationErrors | None
    speakers_right: int  # files whose speaker count matches the reference
    speakers_scored: int
    speakers_right_share: float | None
    attribution: AttributionErrors | None
    overlap: OverlapRecall | None
    hallucinated_words: int | None
    hallucinated_cues: int | None
    translation: TranslationScores | None
    checks: CheckCounts | None
    cues: int
    violations: dict[str, int]
    violations_per_1000_cues: float | None
    baseline_seconds: float | None
    baseline_text: TextErrors | None
    baseline_text_numbers: TextErrors | None
    wer_ratio_to_baseline: float | None  # our WER / the CLI's, on the same files
    time_ratio_to_baseline: float | None  # our seconds / the CLI's, on the same files


@dataclass
class EvalReport:
    dataset: str
    date: str
    machine: str
    load_average: list[float]  # at the end: other work on the machine slows every timing
    overrides: dict[str, Any]
    models: list[dict[str, Any]]
    files: list[FileScores]
    overall: OverallScores


def score_file(
    item: EvalItem,
    transcript: Transcript,
    seconds: float,
    translated: bool,
    labels: list[CheckLabel] | None = None,
) -> FileScores:
    """Every measure the item's references allow (`labels`: hand judgements of its English)."""
    words = transcript.words
    result = FileScores(
        id=item.id,
        media=str(item.media),
        references=item.sources,
        audio_seconds=round(transcript.source.duration, 2),
        seconds=seconds,
        speakers_found=len(transcript.speakers),
        speaker_count=transcript.speaker_count,
        cues=sum(len(track) for track in transcript.cues.values()),
        violations=dict(Counter(v.rule for v in transcript.violations)),
    )
    language = transcript.language
    if item.text is not None:
        hypothesis = " ".join(word.text.strip() for word in words)
        result.text = text_errors(item.text, hypothesis, False, language)
        result.text_numbers = text_errors(item.text, hypothesis, True, language)
    if item.turns is not None:
        uem = item.uem or [(0.0, transcript.source.duration)]
        result.der = diarization_errors(item.turns, transcript.turns, 0.0, uem)
        result.der_collar = diarization_errors(item.turns, transcript.turns, COLLAR, uem)
        result.speakers_reference = len({turn.speaker for turn in item.turns})
        result.attribution = wrong_speaker_words(words, item.turns, transcript.turns)
        outside = words_outside_speech(words, item.turns, uem)
        result.hallucinated_words = len(outside)
        result.hallucinations = [
            {"start": w.start, "end": w.end, "text": w.text.strip()} for w in outside
        ]
        cues = transcript.cues.get(language, [])
        spans = [(cue.start, cue.end) for cue in cues]
        result.hallucinated_cues = spans_outside_speech(spans, item.turns, uem)
    if item.rows is not None:
        rows = [(SpeakerTurn(r.start, r.end, r.speaker), r.text) for r in item.rows]
        result.overlap = overlap_recall(words, rows, transcript.turns, language=language)
    if translated:
        result.translation_rows = _translation_rows(item, transcript)
        result.translation = translation_scores(result.translation_rows)
        if labels is not None:
            english = [
                (s.start, s.end, s.translation or "", bool(s.checks)) for s in transcript.sentences
            ]
            result.checks = check_counts(labels, english)
    return result


def _translation_rows(
    item: EvalItem, transcript: Transcript, english: list[tuple[float, float, str]] | None = None
) -> list[TranslationRow]:
    """Reference turns with English (TSV), else the whole file's English as one row; the
    hypothesis is the transcript's sentences, or the timed `english` given."""
    if item.rows and all(row.translation for row in item.rows):
        references = [(r.start, r.end, r.translation or "") for r in item.rows]
    elif item.translation:
        references = [(0.0, transcript.source.duration, item.translation)]
    else:
        return []
    if english is None:
        english = [(s.start, s.end, s.translation or "") for s in transcript.sentences]
    return align_translations(references, english)


def score_baseline(
    item: EvalItem,
    transcript: Transcript,
    config: Config,
    models: Models,
    out_dir: Path,
    translated: bool = False,
) -> BaselineScores:
    from pipeline.evaluation.baseline import cached_whisper_cli

    log.info("eval: %s: plain whisper CLI ...", item.id)
    folder = out_dir / "whisper-cli"
    run = cached_whisper_cli(item.media, config, models.cache, folder)
    language = transcript.language
    text = numbers = None
    if item.text is not None:
        text = text_errors(item.text, run.text, False, language)
        numbers = text_errors(item.text, run.text, True, language)
    scores = BaselineScores(
        run.seconds,
        text,
        numbers,
        run.cached,
        cpu_seconds=run.cpu_seconds,
        files_in_command=run.files_in_command,
    )
    if translated and _translation_rows(item, transcript, []):
        log.info("eval: %s: plain whisper CLI, --task translate ...", item.id)
        english = cached_whisper_cli(item.media, config, models.cache, folder, "translate")
        rows = _translation_rows(item, transcript, english.segments)
        scores.translation = translation_scores(rows)
        scores.translate_seconds = english.seconds
    return scores


def overall_scores(files: list[FileScores]) -> OverallScores:
    done = [f for f in files if f.error is None]
    compared = [f for f in done if f.baseline is not None]
    with_text = [f for f in compared if f.text and f.baseline and f.baseline.text]
    ours = _pool(f.text for f in with_text)
    theirs = _pool(f.baseline.text for f in with_text if f.baseline)
    cues = sum(f.cues for f in done)
    violations = sum((Counter(f.violations) for f in done), Counter())
    scored_speakers = [f for f in done if f.speakers_reference is not None]
    hallucinated = [f for f in done if f.hallucinated_words is not None]
    rows = [row for f in done for row in f.translation_rows]
    baseline_seconds = sum(f.baseline.seconds for f in compared if f.baseline)
    return OverallScores(
        files=len(files),
        failed=len(files) - len(done),
        audio_seconds=round(sum(f.audio_seconds for f in done), 2),
        seconds=round(sum(f.seconds for f in done), 2),
        text=_pool(f.text for f in done),
        text_numbers=_pool(f.text_numbers for f in done),
        der=_pool(f.der for f in done),
        der_collar=_pool(f.der_collar for f in done),
        speakers_right=sum(f.speakers_found == f.speakers_reference for f in scored_speakers),
        speakers_scored=len(scored_speakers),
        speakers_right_share=share_right_count(scored_speakers),
        attribution=_pool(f.attribution for f in done),
        overlap=_pool(f.overlap for f in done),
        hallucinated_words=sum(f.hallucinated_words or 0 for f in hallucinated)
        if hallucinated
        else None,
        hallucinated_cues=sum(f.hallucinated_cues or 0 for f in hallucinated)
        if hallucinated
        else None,
        translation=translation_scores(rows) if any(f.translation for f in done) else None,
        checks=_pool(f.checks for f in done),
        cues=cues,
        violations=dict(violations),
        violations_per_1000_cues=round(1000 * violations.total() / cues, 1) if cues else None,
        baseline_seconds=round(baseline_seconds, 2) if compared else None,
        baseline_text=_pool(f.baseline.text for f in compared if f.baseline),
        baseline_text_numbers=_pool(f.baseline.text_numbers for f in compared if f.baseline),
        wer_ratio_to_baseline=wer_ratio(ours, theirs),
        time_ratio_to_baseline=round(sum(f.seconds for f in compared) / baseline_seconds, 3)
        if baseline_seconds
        else None,
    )


def _pool(values: Any) -> Any:
    present = [value for value in values if value is not None]
    if not present:
        return None
    total = present[0]
    for value in present[1:]:
        total = total + value
    return total


def wer_ratio(ours: TextErrors | None, theirs: TextErrors | None) -> float | None:
    if ours is None or theirs is None or not theirs.words.rate:
        return None
    return round((ours.words.rate or 0.0) / theirs.words.rate, 3)
