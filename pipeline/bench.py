"""`make bench`: real-time factor and peak memory of each stage.

Runs the pipeline on the bundled sample and on a long recording made from the
asterisk prompts (real Russian speech), and the plain `whisper` command-line
tool on the same files with the same weights (its defaults: beam 5), so that
the pipeline's time can be read as a ratio to it.

    python -m pipeline.bench [--long-minutes 10] [--no-baseline] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from pipeline.audio import load_audio
from pipeline.config import Config
from pipeline.models import Models, locate_whisper
from pipeline.run import process_clip
from pipeline.timing import StageClock, current_rss_mb
from pipeline.writers import atomic_write_text

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "council_sample.mp4"
ASTERISK_RU = Path("/usr/share/asterisk/sounds/ru")


def long_recording(minutes: float, folder: Path) -> Path:
    """Asterisk prompts one after another until `minutes` is reached (made once)."""
    out = folder / f"prompts_{minutes:g}min.wav"
    if out.is_file():
        return out
    prompts = sorted(ASTERISK_RU.glob("*.wav"))
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
    where = locate_whisper(config.asr.model, models.cache)
    model = str(where.path) if where.path else config.asr.model
    with tempfile.TemporaryDirectory() as out:
        command = [
            str(Path(sys.executable).with_name("whisper")),
            str(clip),
            "--model",
            model,
            "--language",
            config.asr.language,
            "--device",
            "cpu",
            "--fp16",
            "False",
            "--threads",
            str(config.runtime.threads),
            "--output_dir",
            out,
            "--output_format",
            "srt",
            "--verbose",
            "False",
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "command": "whisper (openai-whisper CLI, defaults: beam 5)",
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def bench_diarization(minutes: list[float], models: Models, folder: Path) -> dict[str, Any]:
    """Diarization alone on growing inputs: how its time and memory grow with length."""
    from pipeline.diarize import diarize

    results = {}
    for length in minutes:
        audio = load_audio(long_recording(length, folder))
        print(f"bench: diarization on {length:g} min ...", file=sys.stderr)
        clock = StageClock(track_memory=True)
        with clock.stage("diarize"):
            found = diarize(models.diarization.pipeline, audio.samples)
        results[f"{length:g}min"] = {
            "audio_seconds": round(audio.duration, 1),
            "seconds": clock.seconds["diarize"],
            "rtf": round(clock.seconds["diarize"] / audio.duration, 4),
            "peak_rss_mb": clock.peak_rss_mb["diarize"],
            "speakers": len(found.speakers),
        }
        del audio
    return results


def run(
    long_minutes: float, baseline: bool, out_dir: Path, diarization_minutes: list[float]
) -> dict[str, Any]:
    config = Config()
    torch.set_num_threads(config.runtime.threads)
    models = Models(config)
    clock = StageClock(track_memory=True)
    with clock.stage("load_models"):
        models.whisper, models.vad, models.diarization  # noqa: B018 - load before timing
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = {
        "sample": SAMPLE,
        f"prompts_{long_minutes:g}min": long_recording(long_minutes, out_dir),
    }
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "threads": config.runtime.threads,
        "model_load_seconds": clock.seconds["load_models"],
        "rss_after_load_mb": round(current_rss_mb(), 1),
        "inputs": {},
    }
    for name, clip in inputs.items():
        print(f"bench: {name} ({load_audio(clip).duration:.0f} s) ...", file=sys.stderr)
        entry = bench_pipeline(clip, config, models)
        if baseline:
            print(f"bench: {name}: plain whisper CLI ...", file=sys.stderr)
            entry["whisper_cli"] = bench_whisper_cli(clip, config, models)
            entry["time_ratio_to_whisper_cli"] = round(
                entry["total_seconds"] / entry["whisper_cli"]["seconds"], 3
            )
        results["inputs"][name] = entry
    if diarization_minutes:
        results["diarization_by_length"] = bench_diarization(diarization_minutes, models, out_dir)
    atomic_write_text(out_dir / "bench.json", json.dumps(results, indent=2) + "\n")
    table = render_table(results)
    atomic_write_text(out_dir / "bench.md", table)
    print(table)
    return results


def render_table(results: dict[str, Any]) -> str:
    lines = [
        f"{results['date']}, {results['machine']}, {results['threads']} torch thread(s); "
        f"models loaded in {results['model_load_seconds']:.1f} s",
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
    by_length = results.get("diarization_by_length", {})
    if by_length:
        lines += [
            "",
            "| diarization input | audio s | seconds | RTF | peak RSS MB |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, entry in by_length.items():
            lines.append(
                f"| {name} | {entry['audio_seconds']:.0f} | {entry['seconds']:.1f} | "
                f"{entry['rtf']:.3f} | {entry['peak_rss_mb']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cores = len(os.sched_getaffinity(0))
    return (
        f"{platform.machine()}, {cores} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, torch {torch.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--long-minutes",
        type=float,
        default=10.0,
        help="length of the long input, minutes (default 10)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the plain whisper CLI (it takes about real time on 2 cores)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench-results",
        help="folder for bench.json, bench.md and the long input",
    )
    parser.add_argument(
        "--diarization-minutes",
        type=float,
        nargs="*",
        default=[1, 10, 30],
        help="lengths for the diarization-only runs (default 1 10 30)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=r"(?s).*torchcodec")
    run(args.long_minutes, not args.no_baseline, args.out, args.diarization_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
