"""The evaluation report: eval.json (every measure with its raw counts) and eval.md."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.evaluation.metrics import CheckCounts
from pipeline.evaluation.scores import (
    BaselineScores,
    EvalReport,
    FileScores,
    OverallScores,
    wer_ratio,
)
from pipeline.files import atomic_write_text

if TYPE_CHECKING:
    pass


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
        "wrong speaker | overlap recall | hallucinated words (cues) | BLEU | chrF | "
        "rule violations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scores in report.files:
        if scores.error:
            lines.append(f"| {scores.id} | error: {scores.error} |" + " |" * 11)
        else:
            lines.append(_accuracy_row(scores.id, scores))
    lines.append(_accuracy_row("**all**", overall))
    lines += [
        "",
        "| file | audio s | pipeline s | RTF | whisper CLI s | CLI WER | CLI WER, numbers as "
        "words | WER ours/CLI | time ours/CLI | CPU s ours / CLI | CLI --task translate s | "
        "CLI BLEU / chrF |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scores in report.files:
        if not scores.error:
            lines.append(_speed_row(scores))
    lines.append(_overall_speed_row(overall))
    lines += _checks_lines(report)
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
        share = s.speakers_right_share
        right += f" ({100 * share:.0f} %)" if share is not None else ""
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
        _pct(s.overlap.rate if s.overlap else None),
        hallucinated,
        _number(s.translation.bleu if s.translation else None),
        _number(s.translation.chrf if s.translation else None),
        f"{violations}{per_1000}",
    ]
    return "| " + " | ".join(cells) + " |"


def _checks_lines(report: EvalReport) -> list[str]:
    """Precision and recall of the English checks against the hand labels, where labelled."""
    scored = [(f.id, f.checks) for f in report.files if f.checks is not None]
    if not scored:
        return []
    lines = [
        "",
        "English checks against hand-judged labels (a flagged sentence should be wrong in "
        "meaning):",
        "",
        "| file | precision | recall | flagged wrong | flagged right | passed wrong | "
        "passed right | unlabelled | changed since labelling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, counts in [*scored, ("**all**", report.overall.checks)]:
        if counts is None:
            continue
        cells = [
            name,
            _number(counts.precision, 2),
            _number(counts.recall, 2),
            *(str(n) for n in _count_cells(counts)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _count_cells(c: CheckCounts) -> list[int]:
    return [
        c.flagged_wrong,
        c.flagged_right,
        c.passed_wrong,
        c.passed_right,
        c.unlabelled,
        c.changed,
    ]


def _baseline_note(baseline: BaselineScores | None) -> str:
    if baseline is None:
        return ""
    shared = f" (1/{baseline.files_in_command} of a run)" if baseline.files_in_command > 1 else ""
    return shared + (" (cached)" if baseline.cached else "")


def _speed_row(s: FileScores) -> str:
    b = s.baseline
    cells = [
        s.id,
        f"{s.audio_seconds:.1f}",
        f"{s.seconds:.1f}",
        _number(s.rtf, 3),
        _number(b.seconds if b else None) + _baseline_note(b),
        _pct(b.text.words.rate if b and b.text else None),
        _pct(b.text_numbers.words.rate if b and b.text_numbers else None),
        _number(wer_ratio(s.text, b.text) if b else None, 2),
        _number(s.seconds / b.seconds if b and b.seconds else None, 2),
        f"{s.cpu_seconds:.1f} / {b.cpu_seconds:.1f}" if b and b.cpu_seconds else "–",
        _number(b.translate_seconds if b else None),
        f"{b.translation.bleu:.1f} / {b.translation.chrf:.1f}" if b and b.translation else "–",
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
        "",
        "",
        "",
    ]
    return "| " + " | ".join(cells) + " |"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _or_dash(value: Any) -> str:
    return "–" if value is None else str(value)


def machine() -> str:
    from pipeline.evaluation.bench import machine_description

    return machine_description()
