"""`make bench`, batch part: clips per hour through `python -m pipeline batch`.

Builds a folder of short clips from the asterisk Russian prompts (real speech; 20 clips
of about 10 s by default, as mp4 with video, m4a and wav), then times the batch command
as a user runs it (process start and model loading included), with the default
configuration:

1. 1 worker, empty output folder;
2. 2 workers, another empty output folder;
3. the 1-worker run again: every clip is finished, so nothing is decoded (done markers);
4. the 1-worker run again with --force: every stage is read from the stage cache, only
   cues and files are made again.

Throughput is hours of audio per hour of wall time. Writes batch.json and batch.md.

    python -m pipeline.evaluation.batch_bench [--clips 20] [--seconds 10] [--workers 1 2]
        [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.evaluation.prompts import speech_recordings
from pipeline.files import atomic_write_text

REPO = Path(__file__).resolve().parents[2]
CONTAINERS = ("mp4", "m4a", "wav")
MAX_PROMPT = 6.0  # seconds


def build_folder(folder: Path, clips: int, seconds: float) -> float:
    """`clips` clips of at least `seconds` each, in nested folders; their total seconds."""
    prompts = speech_recordings()
    if not prompts:
        raise SystemExit("error: asterisk-core-sounds-ru-wav is not installed; run `make setup`")
    lengths = {p: _wav_seconds(p) for p in prompts}
    prompts = [p for p in prompts if lengths[p] <= MAX_PROMPT]  # clips of even length
    total, cursor = 0.0, 0
    for i in range(clips):
        chosen: list[Path] = []
        while sum(lengths[p] for p in chosen) < seconds:
            chosen.append(prompts[cursor % len(prompts)])
            cursor += 1
        kind = CONTAINERS[i % len(CONTAINERS)]
        target = folder / f"day {i // 10 + 1}" / f"запись {i + 1:02d}.{kind}"
        target.parent.mkdir(parents=True, exist_ok=True)
        _join(chosen, target)
        total += sum(lengths[p] for p in chosen)
    return total


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as handle:
        return handle.getnframes() / handle.getframerate()


def _join(prompts: list[Path], target: Path) -> None:
    listing = target.with_suffix(".txt.tmp")
    listing.write_text("".join(f"file '{p}'\n" for p in prompts))
    video = ["-f", "lavfi", "-i", "color=c=black:s=160x120:r=10"] if target.suffix == ".mp4" else []
    codecs = {
        ".mp4": ["-shortest", "-c:v", "mpeg4", "-c:a", "aac"],
        ".m4a": ["-c:a", "aac"],
        ".wav": ["-ar", "16000"],
    }[target.suffix]
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0"]
    command += ["-i", str(listing), *video, *codecs, str(target)]
    try:
        subprocess.run(command, check=True)
    finally:
        listing.unlink(missing_ok=True)


def time_batch(folder: Path, out: Path, workers: int, *extra: str) -> dict[str, Any]:
    """One `python -m pipeline batch` run, as a user starts it; wall time and the manifest."""
    command = [sys.executable, "-m", "pipeline", "batch", str(folder), "--out", str(out)]
    command += ["--quiet", "--workers", str(workers), *extra]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"error: batch run failed:\n{result.stderr[-3000:]}")
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["clips"]
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    audio = sum(row["duration_s"] or 0 for row in rows)
    return {
        "workers": workers,
        "arguments": list(extra),
        "wall_s": round(wall, 1),
        "clips": len(rows),
        "statuses": statuses,
        "audio_s": round(audio, 1),
        "audio_hours_per_hour": round(audio / wall, 2),
        "clip_wall_s_mean": round(sum(r["wall_s"] for r in rows) / max(len(rows), 1), 2),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def run(
    clips: int, seconds: float, workers: list[int], work: Path, note: str = ""
) -> dict[str, Any]:
    from pipeline.evaluation.bench import machine_description

    folder = work / "clips"
    if folder.exists():
        shutil.rmtree(folder)
    audio = build_folder(folder, clips, seconds)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "note": note,
        "folder": {"clips": clips, "audio_s": round(audio, 1), "containers": list(CONTAINERS)},
        "runs": {},
    }
    for count in workers:
        out = work / f"out-{count}"
        shutil.rmtree(out, ignore_errors=True)
        print(f"batch bench: {clips} clips with {count} worker(s) ...", file=sys.stderr)
        results["runs"][f"{count} worker(s)"] = time_batch(folder, out, count)
    first = work / f"out-{workers[0]}"
    print("batch bench: rerun, every clip finished ...", file=sys.stderr)
    results["runs"]["rerun, all finished"] = time_batch(folder, first, 1)
    print("batch bench: rerun with --force, every stage cached ...", file=sys.stderr)
    results["runs"]["rerun --force, stage cache"] = time_batch(folder, first, 1, "--force")
    return results


def render_table(results: dict[str, Any]) -> str:
    folder = results["folder"]
    lines = [
        "# Batch throughput",
        "",
        f"{folder['clips']} clips, {folder['audio_s'] / 60:.1f} min of real Russian speech "
        f"(asterisk prompts; {', '.join(folder['containers'])}), default configuration "
        "(VAD, diarization, Whisper base, translation), `python -m pipeline batch` timed "
        "from process start.",
        "",
        f"Machine: {results['machine']}; load average before: {results['load_average_before']}.",
        "",
        *([f"Note: {results['note']}", ""] if results["note"] else []),
        "| run | wall time | clips | audio h per hour | mean s per clip | load after |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in results["runs"].items():
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(entry["statuses"].items()))
        lines.append(
            f"| {name} | {entry['wall_s']:.1f} s | {statuses} | "
            f"{entry['audio_hours_per_hour']:.2f} | {entry['clip_wall_s_mean']:.2f} | "
            f"{entry['load_average_after']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.batch_bench", description=__doc__
    )
    parser.add_argument("--clips", type=int, default=20, help="clips in the folder (20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per clip (10)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="(1 2)")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument(
        "--note", default="", help="recorded with the results, e.g. what else ran on the machine"
    )
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="batch-bench-"))
    try:
        results = run(args.clips, args.seconds, args.workers, work, args.note)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "batch.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(args.out / "batch.md", render_table(results))
    sys.stdout.write(render_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
