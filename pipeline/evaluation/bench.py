"""`make bench`: the one place for speed. Real-time factor and peak memory of each stage.

Runs the whole pipeline on the bundled sample and on recordings of growing length made from
the asterisk prompts (real Russian speech; 1, 10, 30 and 60 minutes by default), so that the
growth of each stage's cost with length can be read off, and the plain `whisper`
command-line tool on the short inputs with the same weights (its defaults: beam 5), so that
the pipeline's time can be read as a ratio to it. Writes bench.json, bench.md and bench.png
(seconds and peak memory of each stage against audio length) after every input.

    python -m pipeline.evaluation.bench [--lengths 1 10 30 60] [--baseline-max-minutes 1]
        [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from pipeline.cli import (  # the options every pipeline command takes
    _overrides,
    _pipeline_options,
    reporting_errors,
)
from pipeline.config import Config, load_config
from pipeline.evaluation.baseline import DESCRIPTION, run_whisper_cli
from pipeline.evaluation.prompts import speech_recordings
from pipeline.files import atomic_write_text
from pipeline.models.registry import Models, prepare_process
from pipeline.run import process_clip
from pipeline.stages.audio import probe
from pipeline.timing import StageClock, current_rss_mb

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "council_sample.mp4"


def long_recording(minutes: float, folder: Path) -> Path:
    """Asterisk prompts (speech only) one after another until `minutes` is reached (made
    once): one voice, so a count of speakers other than 1 is wrong."""
    out = folder / f"prompts_{minutes:g}min.wav"
    if out.is_file():
        return out
    prompts = speech_recordings()
    if not prompts:
        raise SystemExit("error: asterisk-core-sounds-ru-wav is not installed; run `make setup`")
    listing = folder / "prompts.txt"
    repeats = 1 + int(minutes * 60 // 1000)  # the prompts add up to about 20 minutes
    lines = [f"file '{p}'" for p in prompts] * repeats
    listing.write_text("\n".join(lines) + "\n")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-t",
            str(minutes * 60),
            "-ar",
            "16000",
            "-ac",
            "1",
            str(out),
        ],
        check=True,
    )
    return out


def bench_pipeline(clip: Path, config: Config, models: Models) -> dict[str, Any]:
    clock = StageClock(track_memory=True)
    started = time.perf_counter()
    transcript = process_clip(clip, config, models, progress=False, clock=clock)
    total = time.perf_counter() - started
    duration = transcript.source.duration
    stages = {
        name: {
            "seconds": seconds,
            "rtf": round(seconds / duration, 4),
            "peak_rss_mb": clock.peak_rss_mb[name],
        }
        for name, seconds in clock.seconds.items()
    }
    return {
        "audio_seconds": round(duration, 2),
        "stages": stages,
        "total_seconds": round(total, 2),
        "total_rtf": round(total / duration, 4),
        "peak_rss_mb": max(clock.peak_rss_mb.values()),
        "words": len(transcript.words),
    }


def bench_whisper_cli(clip: Path, config: Config, models: Models) -> dict[str, Any]:
    run = run_whisper_cli(clip, config, models.cache)
    return {"command": DESCRIPTION, "seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb}


def bench_inputs(lengths: list[float], folder: Path, sample: bool) -> dict[str, tuple[Path, float]]:
    """Name -> (file, minutes or 0 for the sample), shortest first."""
    inputs = {"sample": (SAMPLE, 0.0)} if sample else {}
    for minutes in sorted(lengths):
        inputs[f"prompts_{minutes:g}min"] = (long_recording(minutes, folder), minutes)
    return inputs


def run(
    lengths: list[float],
    baseline_max_minutes: float,
    out_dir: Path,
    sample: bool = True,
    note: str = "",
    overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
) -> dict[str, Any]:
    config = load_config(config_file, overrides)
    prepare_process(config)
    models = Models(config)
    clock = StageClock(track_memory=True)
    with clock.stage("load_models"):
        models.load_all()
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "threads": config.runtime.threads,
        "note": note,
        "overrides": overrides or {},
        "load_average_at_start": _load_average(),
        "model_load_seconds": clock.seconds["load_models"],
        "rss_after_load_mb": round(current_rss_mb(), 1),
        "inputs": {},
    }
    for name, (clip, minutes) in bench_inputs(lengths, out_dir, sample).items():
        seconds = float(probe(clip)["format"]["duration"])
        print(f"bench: {name} ({seconds:.0f} s) ...", file=sys.stderr)
        entry = bench_pipeline(clip, config, models)
        if minutes <= baseline_max_minutes:
            print(f"bench: {name}: plain whisper CLI ...", file=sys.stderr)
            entry["whisper_cli"] = bench_whisper_cli(clip, config, models)
            entry["time_ratio_to_whisper_cli"] = round(
                entry["total_seconds"] / entry["whisper_cli"]["seconds"], 3
            )
        entry["load_average_after"] = _load_average()
        results["inputs"][name] = entry
        write_results(results, out_dir)  # after every input: a long run killed halfway keeps some
    print(render_table(results))
    return results


def write_results(results: dict[str, Any], out_dir: Path) -> None:
    atomic_write_text(out_dir / "bench.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(out_dir / "bench.md", render_table(results))
    plot_growth(results, out_dir / "bench.png")


def render_table(results: dict[str, Any]) -> str:
    lines = [
        f"{results['date']}, {results['machine']}, {results['threads']} torch thread(s); "
        f"models loaded in {results['model_load_seconds']:.1f} s; "
        f"load average at start {results['load_average_at_start']}",
    ]
    if results.get("overrides"):
        lines.append(f"Options changed from the defaults: {results['overrides']}")
    if results.get("note"):
        lines.append(f"Note: {results['note']}")
    lines += [
        "",
        "| input | audio s | stage | seconds | RTF | peak RSS MB |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, entry in results["inputs"].items():
        rows = [
            (stage, v["seconds"], v["rtf"], v["peak_rss_mb"])
            for stage, v in entry["stages"].items()
        ]
        rows.append(("**total**", entry["total_seconds"], entry["total_rtf"], entry["peak_rss_mb"]))
        cli = entry.get("whisper_cli")
        if cli:
            rows.append(
                (
                    "whisper CLI",
                    cli["seconds"],
                    round(cli["seconds"] / entry["audio_seconds"], 4),
                    cli["peak_rss_mb"],
                )
            )
        for stage, seconds, rtf, rss in rows:
            lines.append(
                f"| {name} | {entry['audio_seconds']:.1f} | {stage} | {seconds:.2f} | "
                f"{rtf:.3f} | {rss:.0f} |"
            )
        if cli:
            lines.append(
                f"| {name} | | **time vs whisper CLI** | "
                f"{entry['time_ratio_to_whisper_cli']:.3f} | | |"
            )
    return "\n".join(lines) + "\n"


def plot_growth(results: dict[str, Any], path: Path) -> None:
    """Seconds and peak memory of each stage against audio length (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = sorted(results["inputs"].values(), key=lambda e: e["audio_seconds"])
    minutes = [e["audio_seconds"] / 60 for e in entries]
    stages = list(dict.fromkeys(s for e in entries for s in e["stages"]))
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for stage in [*stages, "total"]:
        seconds = [_stage_value(e, stage, "seconds") for e in entries]
        memory = [_stage_value(e, stage, "peak_rss_mb") for e in entries]
        style = {"linewidth": 2.5, "color": "black"} if stage == "total" else {}
        time_axis.plot(minutes, seconds, marker="o", label=stage, **style)
        memory_axis.plot(minutes, memory, marker="o", label=stage, **style)
    time_axis.set(xlabel="audio, minutes", ylabel="wall seconds", title="time per stage")
    memory_axis.set(xlabel="audio, minutes", ylabel="peak RSS, MB", title="peak memory per stage")
    for axis in (time_axis, memory_axis):
        axis.grid(True, alpha=0.3)
    time_axis.legend(fontsize=8)
    figure.suptitle(f"{results['date']}, {results['machine']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _stage_value(entry: dict[str, Any], stage: str, key: str) -> float:
    if stage == "total":
        return entry["total_seconds"] if key == "seconds" else entry["peak_rss_mb"]
    return entry["stages"].get(stage, {}).get(key, float("nan"))


def machine_description() -> str:
    cores = len(os.sched_getaffinity(0))
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{_cpu_model()}, {cores} cores, {memory_gb:.0f} GB, "
        f"{platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], parents=[_pipeline_options()]
    )
    parser.add_argument(
        "--lengths",
        type=float,
        nargs="*",
        default=[1.0, 10.0, 30.0, 60.0],
        metavar="MINUTES",
        help="lengths of the prompt recordings, minutes (default 1 10 30 60)",
    )
    parser.add_argument(
        "--baseline-max-minutes",
        type=float,
        default=1.0,
        metavar="MINUTES",
        help="run the plain whisper CLI on the sample and on inputs up to this long "
        "(default 1: it takes about twice real time on one thread)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the plain whisper CLI everywhere"
    )
    parser.add_argument("--no-sample", action="store_true", help="skip the bundled sample")
    parser.add_argument(
        "--note", default="", help="recorded with the results, e.g. what else ran on the machine"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench-results",
        help="folder for bench.json, bench.md, bench.png and the long inputs",
    )
    args = parser.parse_args(argv)
    baseline_max = -1.0 if args.no_baseline else args.baseline_max_minutes

    def bench() -> int:
        overrides = _overrides(args)
        run(
            args.lengths,
            baseline_max,
            args.out,
            not args.no_sample,
            args.note,
            overrides,
            args.config,
        )
        return 0

    return reporting_errors(bench, args)


if __name__ == "__main__":
    sys.exit(main())
