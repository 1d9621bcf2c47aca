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

import argparse
import json
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Config, load_config, parse_override
from pipeline.errors import PipelineError
from pipeline.evaluation.datasets import EvalItem, load_dataset
from pipeline.evaluation.metrics import (
    AttributionErrors,
    DiarizationErrors,
    TextErrors,
    TranslationRow,
    TranslationScores,
    align_translations,
    diarization_errors,
    share_right_count,
    spans_outside_speech,
    text_errors,
    translation_scores,
    words_outside_speech,
    wrong_speaker_words,
)
from pipeline.stages.writers import atomic_write_text
from pipeline.types import SpeakerCount

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


@dataclass
class FileScores:
    """Every measure of one file; None where the dataset has no reference for it."""

    id: str
    media: str
    references: list[str]
    audio_seconds: float = 0.0
    seconds: float = 0.0  # the pipeline's wall time, models already loaded
    text: TextErrors | None = None
    text_numbers: TextErrors | None = None
    der: DiarizationErrors | None = None
    der_collar: DiarizationErrors | None = None
    speakers_found: int = 0
    speakers_reference: int | None = None
    speaker_count: SpeakerCount | None = None  # how clearly the count was chosen
    attribution: AttributionErrors | None = None
    hallucinated_words: int | None = None
    hallucinated_cues: int | None = None
    hallucinations: list[dict[str, Any]] = field(default_factory=list)
    translation: TranslationScores | None = None
    translation_rows: list[TranslationRow] = field(default_factory=list)
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
    hallucinated_words: int | None
    hallucinated_cues: int | None
    translation: TranslationScores | None
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


def evaluate_dataset(
    data: Path,
    config: Config,
    models: Models,
    out_dir: Path,
    baseline: bool = True,
    limit: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> EvalReport:
    """Run and score every file of `data`; write eval.json, eval.md and the transcripts."""
    items = load_dataset(data, limit)
    (out_dir / "transcripts").mkdir(parents=True, exist_ok=True)
    scores: list[FileScores] = []
    model_record: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        log.info("eval: %d/%d %s ...", number, len(items), item.id)
        try:
            transcript, seconds = _run_pipeline(item, config, models)
            _write_transcript(out_dir, item, transcript)
            model_record = model_record or [asdict(m) for m in transcript.models]
            result = score_file(item, transcript, seconds, models.translator is not None)
            if baseline:
                result.baseline = score_baseline(item, transcript, config, models, out_dir)
        except PipelineError as exc:
            log.error("error: %s", exc)
            result = FileScores(item.id, str(item.media), item.sources, error=str(exc))
        scores.append(result)
        report = _report(data, model_record, scores, overrides)
        write_report(report, out_dir)  # after every file: a long run stopped early keeps some
    return report


def _report(
    data: Path,
    models: list[dict[str, Any]],
    scores: list[FileScores],
    overrides: dict[str, Any] | None,
) -> EvalReport:
    return EvalReport(
        dataset=str(data),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=_machine(),
        load_average=[round(value, 2) for value in os.getloadavg()],
        overrides=overrides or {},
        models=models,
        files=scores,
        overall=overall_scores(scores),
    )


def _run_pipeline(item: EvalItem, config: Config, models: Models) -> tuple[Transcript, float]:
    from pipeline.run import process_clip

    started = time.perf_counter()
    transcript = process_clip(item.media, config, models, progress=False)
    return transcript, round(time.perf_counter() - started, 2)


def _write_transcript(out_dir: Path, item: EvalItem, transcript: Transcript) -> None:
    from pipeline.stages.writers import render_json

    name = item.id.replace("/", "_") + ".json"
    atomic_write_text(out_dir / "transcripts" / name, render_json(transcript))


def score_file(
    item: EvalItem, transcript: Transcript, seconds: float, translated: bool
) -> FileScores:
    """Every measure the item's references allow."""
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
    if translated:
        result.translation_rows = _translation_rows(item, transcript)
        result.translation = translation_scores(result.translation_rows)
    return result


def _translation_rows(item: EvalItem, transcript: Transcript) -> list[TranslationRow]:
    """Reference turns with English (TSV), else the whole file's English as one row."""
    if item.rows and all(row.translation for row in item.rows):
        references = [(r.start, r.end, r.translation or "") for r in item.rows]
    elif item.translation:
        references = [(0.0, transcript.source.duration, item.translation)]
    else:
        return []
    sentences = [(s.start, s.end, s.translation or "") for s in transcript.sentences]
    return align_translations(references, sentences)


def score_baseline(
    item: EvalItem, transcript: Transcript, config: Config, models: Models, out_dir: Path
) -> BaselineScores:
    from pipeline.evaluation.baseline import cached_whisper_cli

    log.info("eval: %s: plain whisper CLI ...", item.id)
    run = cached_whisper_cli(item.media, config, models.cache, out_dir / "whisper-cli")
    language = transcript.language
    text = numbers = None
    if item.text is not None:
        text = text_errors(item.text, run.text, False, language)
        numbers = text_errors(item.text, run.text, True, language)
    return BaselineScores(run.seconds, text, numbers, run.cached)


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
        hallucinated_words=sum(f.hallucinated_words or 0 for f in hallucinated)
        if hallucinated
        else None,
        hallucinated_cues=sum(f.hallucinated_cues or 0 for f in hallucinated)
        if hallucinated
        else None,
        translation=translation_scores(rows) if any(f.translation for f in done) else None,
        cues=cues,
        violations=dict(violations),
        violations_per_1000_cues=round(1000 * violations.total() / cues, 1) if cues else None,
        baseline_seconds=round(baseline_seconds, 2) if compared else None,
        baseline_text=_pool(f.baseline.text for f in compared if f.baseline),
        baseline_text_numbers=_pool(f.baseline.text_numbers for f in compared if f.baseline),
        wer_ratio_to_baseline=_ratio(ours, theirs),
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


def _ratio(ours: TextErrors | None, theirs: TextErrors | None) -> float | None:
    if ours is None or theirs is None or not theirs.words.rate:
        return None
    return round((ours.words.rate or 0.0) / theirs.words.rate, 3)


# --- report -------------------------------------------------------------------------------------


def write_report(report: EvalReport, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out_dir / "eval.json", json.dumps(plain(report), ensure_ascii=False, indent=2) + "\n"
    )
    atomic_write_text(out_dir / "eval.md", render_markdown(report))


def plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts (with their rates), recursively."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        result = {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, FileScores):
            result["rtf"] = round(value.rtf, 4) if value.rtf is not None else None
        return result
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def render_markdown(report: EvalReport) -> str:
    overall = report.overall
    lines = [
        f"# Evaluation: {report.dataset}",
        "",
        f"{report.date}, {report.machine}, load average {report.load_average}; "
        f"overrides: {report.overrides or 'none'}",
        "",
        "| file | WER | WER, numbers as words | CER | DER | DER ±0.25 s | speakers found/ref | "
        "wrong speaker | hallucinated words (cues) | BLEU | chrF | rule violations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scores in report.files:
        if scores.error:
            lines.append(f"| {scores.id} | error: {scores.error} |" + " |" * 10)
        else:
            lines.append(_accuracy_row(scores.id, scores))
    lines.append(_accuracy_row("**all**", overall))
    lines += [
        "",
        "| file | audio s | pipeline s | RTF | whisper CLI s | CLI WER | CLI WER, numbers as "
        "words | WER ours/CLI | time ours/CLI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scores in report.files:
        if not scores.error:
            lines.append(_speed_row(scores))
    lines.append(_overall_speed_row(overall))
    if overall.violations:
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(overall.violations.items()))
        lines += ["", f"Rule violations by rule: {by_rule}."]
    return "\n".join(lines) + "\n"


def _accuracy_row(name: str, s: FileScores | OverallScores) -> str:
    if isinstance(s, FileScores):
        speakers = f"{s.speakers_found}/{_or_dash(s.speakers_reference)}"
        speakers += " (uncertain)" if s.speaker_count and s.speaker_count.uncertain else ""
    else:
        right = f"{s.speakers_right}/{s.speakers_scored} files right"
        right += (
            f" ({100 * s.speakers_right_share:.0f} %)" if s.speakers_right_share is not None else ""
        )
        speakers = right if s.speakers_scored else "–"
    violations = sum(s.violations.values())
    per_1000 = f" ({1000 * violations / s.cues:.0f}/1000 cues)" if s.cues else ""
    hallucinated = (
        f"{s.hallucinated_words} ({s.hallucinated_cues})"
        if s.hallucinated_words is not None
        else "–"
    )
    cells = [
        name,
        _pct(s.text.words.rate if s.text else None),
        _pct(s.text_numbers.words.rate if s.text_numbers else None),
        _pct(s.text.characters.rate if s.text else None),
        _pct(s.der.rate if s.der else None),
        _pct(s.der_collar.rate if s.der_collar else None),
        speakers,
        _pct(s.attribution.rate if s.attribution else None),
        hallucinated,
        _number(s.translation.bleu if s.translation else None),
        _number(s.translation.chrf if s.translation else None),
        f"{violations}{per_1000}",
    ]
    return "| " + " | ".join(cells) + " |"


def _speed_row(s: FileScores) -> str:
    b = s.baseline
    cells = [
        s.id,
        f"{s.audio_seconds:.1f}",
        f"{s.seconds:.1f}",
        _number(s.rtf, 3),
        _number(b.seconds if b else None) + (" (cached)" if b and b.cached else ""),
        _pct(b.text.words.rate if b and b.text else None),
        _pct(b.text_numbers.words.rate if b and b.text_numbers else None),
        _number(_ratio(s.text, b.text) if b else None, 2),
        _number(s.seconds / b.seconds if b and b.seconds else None, 2),
    ]
    return "| " + " | ".join(cells) + " |"


def _overall_speed_row(o: OverallScores) -> str:
    rtf = o.seconds / o.audio_seconds if o.audio_seconds else None
    cells = [
        "**all**",
        f"{o.audio_seconds:.1f}",
        f"{o.seconds:.1f}",
        _number(rtf, 3),
        _number(o.baseline_seconds),
        _pct(o.baseline_text.words.rate if o.baseline_text else None),
        _pct(o.baseline_text_numbers.words.rate if o.baseline_text_numbers else None),
        _number(o.wer_ratio_to_baseline, 2),
        _number(o.time_ratio_to_baseline, 2),
    ]
    return "| " + " | ".join(cells) + " |"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _or_dash(value: Any) -> str:
    return "–" if value is None else str(value)


def _machine() -> str:
    from pipeline.evaluation.bench import machine_description

    return machine_description()


# --- command line -------------------------------------------------------------------------------


def add_eval_command(commands: Any) -> None:
    """The `eval` subcommand of `python -m pipeline`."""
    sub = commands.add_parser(
        "eval",
        help="run a labelled dataset through the pipeline and score it",
        description="Run every media file of DATA through the pipeline and report WER, CER, "
        "DER, wrong-speaker words, hallucinated words, BLEU, chrF and subtitle rule "
        "violations per file and overall, next to the plain whisper CLI. Dataset layouts: "
        "README, section Evaluation.",
    )
    sub.add_argument("data", type=Path, help="dataset folder")
    sub.add_argument(
        "-o",
        "--out",
        type=Path,
        help="folder for eval.json, eval.md and transcripts (default: out/eval/<DATA name>)",
    )
    sub.add_argument("-c", "--config", type=Path, help="YAML file of pipeline options")
    sub.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a pipeline option, e.g. --set asr.language=en (repeatable)",
    )
    sub.add_argument("--limit", type=_positive, metavar="N", help="only the first N files")
    sub.add_argument(
        "--no-baseline", action="store_true", help="skip the plain whisper CLI (about 2x real time)"
    )
    sub.add_argument("-q", "--quiet", action="store_true", help="only the table and errors")
    sub.set_defaults(handler=run_eval_command)


def run_eval_command(args: argparse.Namespace) -> int:
    overrides = dict(parse_override(item) for item in args.set)
    config = load_config(args.config, overrides)
    load_dataset(args.data)  # a bad dataset fails before any model is loaded
    from pipeline.models.registry import Models, prepare_process

    prepare_process(config)
    models = Models(config)
    models.check()
    models.load_all()  # no file's time includes loading a model
    out_dir = args.out or Path("out") / "eval" / args.data.resolve().name
    report = evaluate_dataset(
        args.data, config, models, out_dir, not args.no_baseline, args.limit, overrides
    )
    print(render_markdown(report), end="")
    log.info("wrote %s and %s", out_dir / "eval.json", out_dir / "eval.md")
    return 1 if report.overall.failed else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
