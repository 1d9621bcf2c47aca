"""Bounded fuzz run: mutated copies of the sample clip through the pipeline (`make fuzz`).

    .venv/bin/python -m tests.hostile.fuzz [--count 40] [--seed 1] [--out fuzz-results]

Each copy is truncated, has bytes inverted, a block zeroed, or a block cut out.
Every copy runs through the real pipeline (models loaded once; diarization and
translation off: the point is the input) with the default options, and ends as:

- clean error: one `PipelineError` line (a damaged copy is refused by default);
- success: a transcript that kept the clip's length and most of its words;
- silent loss: a transcript with no error and no damage on record that lost
  audio (decoded duration short of the original) or most of its words. Must be 0;
- crash: any other exception. Must be 0.

Writes OUT/fuzz.json (every copy, its mutation and outcome) and prints the counts;
exit status 1 if there was a silent loss or a crash.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.registry import Models, prepare_process
from pipeline.run import process_clip

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "council_sample.mp4"
FAST = {"diarization.enabled": False, "translate.engine": "none"}
# A copy that kept less than this share of the clean run's words or audio lost text.
KEPT_SHARE = 0.8


def mutate(data: bytes, kind: str, chance: random.Random) -> tuple[bytes, str]:
    """One mutated copy of `data`, and the mutation in words."""
    size = len(data)
    if kind == "truncate":
        share = chance.uniform(0.05, 0.98)
        return data[: int(size * share)], f"truncated to {share:.0%}"
    if kind == "flip":
        copy = bytearray(data)
        count = chance.choice([1, 5, 20, 100])
        for _ in range(count):
            copy[chance.randrange(size)] ^= 1 << chance.randrange(8)
        return bytes(copy), f"{count} bit(s) flipped"
    start = chance.randrange(size // 20, size - 4096)
    length = chance.choice([256, 4096, 32768])
    if kind == "zero":
        return data[:start] + bytes(length) + data[start + length :], f"{length} bytes zeroed"
    return data[:start] + data[start + length :], f"{length} bytes cut out at {start}"


def outcome(clip: Path, config, models: Models, clean_words: int, clean_duration: float):
    try:
        transcript = process_clip(clip, config, models, progress=False)
    except PipelineError as exc:
        return "clean error", str(exc).replace(str(clip), clip.name)
    except Exception:  # the thing this run is looking for
        return "crash", traceback.format_exc(limit=3)
    words = len(transcript.words)
    source = transcript.source
    detail = f"{words} words, {source.duration:.1f} s decoded"
    if source.damage:
        return "success", f"{detail}, damage on record: {source.damage}"
    if words < KEPT_SHARE * clean_words or source.duration < KEPT_SHARE * clean_duration:
        return "silent loss", detail
    return "success", detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="mutated copies (default 40)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-results"), help="result folder")
    args = parser.parse_args(argv)

    config = load_config(None, FAST)
    prepare_process(config)
    models = Models(config)
    clean = process_clip(SAMPLE, config, models, progress=False)
    clean_words, clean_duration = len(clean.words), clean.source.duration
    print(f"clean sample: {clean_words} words, {clean_duration:.1f} s", file=sys.stderr)

    chance = random.Random(args.seed)
    data = SAMPLE.read_bytes()
    kinds = ["truncate", "flip", "zero", "cut"]
    rows = []
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        for number in range(args.count):
            mutated, mutation = mutate(data, kinds[number % len(kinds)], chance)
            clip = work / f"copy{number:03d}.mp4"
            clip.write_bytes(mutated)
            started = time.perf_counter()
            result, detail = outcome(clip, config, models, clean_words, clean_duration)
            rows.append(
                {
                    "copy": clip.name,
                    "mutation": mutation,
                    "outcome": result,
                    "detail": detail,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(f"{clip.name}  {mutation:28} {result:12} {detail}", file=sys.stderr)
            clip.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    counts = {k: sum(r["outcome"] == k for r in rows) for k in OUTCOMES}
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"seed": args.seed, "count": args.count, "clean_words": clean_words,
              "counts": counts, "copies": rows}  # fmt: skip
    (args.out / "fuzz.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print("fuzz: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" ({args.out}/fuzz.json)")
    return 1 if counts["silent loss"] or counts["crash"] else 0


OUTCOMES = ("clean error", "success", "silent loss", "crash")

if __name__ == "__main__":
    sys.exit(main())
