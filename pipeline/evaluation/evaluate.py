"""`python -m pipeline eval DATA`: how good and how fast the pipeline is on a labelled dataset.

Every media file of the dataset (layouts: `pipeline.evaluation.datasets`) goes through the
pipeline with the models loaded once; each is scored against whatever references it has, and, unless
`--no-baseline`, the plain `whisper` CLI runs on it too. Writes into the output folder:

    eval.json                 per file and overall, every measure with its raw counts
    eval.md                   the same as readable tables (also printed)
    transcripts/<id>.json     the pipeline's full transcript of each file
    whisper-cli/<sha256>...   the baseline's transcripts, reused by later runs
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.errors import PipelineError, one_line
from pipeline.evaluation.datasets import EvalItem, load_dataset
from pipeline.evaluation.metrics import CheckLabel, read_check_labels
from pipeline.evaluation.report import machine, write_report
from pipeline.evaluation.scores import (
    EvalReport,
    FileScores,
    overall_scores,
    score_baseline,
    score_file,
)
from pipeline.files import atomic_write_text

if TYPE_CHECKING:
    from pipeline.models.registry import Models
    from pipeline.types import Transcript

log = logging.getLogger("pipeline")
# Sets of more files than this run the baseline CLI on many files per command.
SHARED_BASELINE_FROM = 10


def evaluate_dataset(
    data: Path,
    config: Config,
    models: Models,
    out_dir: Path,
    baseline: bool = True,
    limit: int | None = None,
    overrides: dict[str, Any] | None = None,
    labels: Path | None = None,
) -> EvalReport:
    """Run and score every file of `data`; write eval.json, eval.md and the transcripts.

    `labels`: a folder of hand judgements of the English, `<media file name>.tsv`
    (`samples/translation_labels`), to score the per-sentence checks against.
    """
    from pipeline.evaluation.baseline import FILES_PER_COMMAND  # imports torch

    items = load_dataset(data, limit)
    (out_dir / "transcripts").mkdir(parents=True, exist_ok=True)
    scores: list[FileScores] = []
    model_record: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        log.info("eval: %d/%d %s ...", number, len(items), item.id)
        if baseline and len(items) > SHARED_BASELINE_FROM and number % FILES_PER_COMMAND == 1:
            # The next files' CLI runs, a command at a time: a run stopped early has
            # both sides of every file it reports.
            _prefetch_baseline(
                items[number - 1 : number - 1 + FILES_PER_COMMAND], config, models, out_dir
            )
        try:
            transcript, seconds, cpu_seconds = _run_pipeline(item, config, models)
            _write_transcript(out_dir, item, transcript)
            model_record = model_record or [asdict(m) for m in transcript.models]
            translated = models.translator is not None
            labelled = _labels_for(item, labels)
            result = score_file(item, transcript, seconds, translated, labelled)
            result.cpu_seconds = cpu_seconds
            if baseline:
                result.baseline = score_baseline(
                    item, transcript, config, models, out_dir, translated
                )
        except Exception as exc:  # one file failing, whatever the reason, is one row
            problem = _problem(item, exc)
            log.error("error: %s", problem, exc_info=log.isEnabledFor(logging.DEBUG))
            result = FileScores(item.id, str(item.media), item.sources, error=problem)
        scores.append(result)
        report = _report(data, model_record, scores, overrides)
        write_report(report, out_dir)  # after every file: a long run stopped early keeps some
    return report


def _prefetch_baseline(
    items: list[EvalItem], config: Config, models: Models, out_dir: Path
) -> None:
    """The CLI over many files per command, model loaded once per command, as the pipeline
    loads its models once for the whole set: with a load per file, start-up would be most of
    the CLI's time on sets of short prompts."""
    from pipeline.evaluation.baseline import prefetch_whisper_cli

    folder = out_dir / "whisper-cli"
    prefetch_whisper_cli([item.media for item in items], config, models.cache, folder)
    if models.translator is not None:
        english = [item.media for item in items if item.translation or item.rows]
        prefetch_whisper_cli(english, config, models.cache, folder, "translate")


def _problem(item: EvalItem, exc: Exception) -> str:
    """`<file>: <problem>`, as the CLI says it; an unexpected error names its type."""
    if isinstance(exc, PipelineError):
        return str(exc)
    return f"{item.media}: {type(exc).__name__}: {one_line(str(exc))}"


def _labels_for(item: EvalItem, folder: Path | None) -> list[CheckLabel] | None:
    path = folder / f"{Path(item.id).name}.tsv" if folder else None
    return read_check_labels(path) if path and path.is_file() else None


def _report(
    data: Path,
    models: list[dict[str, Any]],
    scores: list[FileScores],
    overrides: dict[str, Any] | None,
) -> EvalReport:
    return EvalReport(
        dataset=str(data),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
        load_average=[round(value, 2) for value in os.getloadavg()],
        overrides=overrides or {},
        models=models,
        files=scores,
        overall=overall_scores(scores),
    )


def _run_pipeline(
    item: EvalItem, config: Config, models: Models
) -> tuple[Transcript, float, float]:
    """The transcript, and the wall and CPU seconds it took."""
    from pipeline.run import process_clip

    started, cpu = time.perf_counter(), time.process_time()
    transcript = process_clip(item.media, config, models, progress=False)
    return (
        transcript,
        round(time.perf_counter() - started, 2),
        round(time.process_time() - cpu, 2),
    )


def _write_transcript(out_dir: Path, item: EvalItem, transcript: Transcript) -> None:
    from pipeline.stages.writers import render_json

    name = item.id.replace("/", "_") + ".json"
    atomic_write_text(out_dir / "transcripts" / name, render_json(transcript))
