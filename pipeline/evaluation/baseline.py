"""The plain `whisper` command-line tool, the yardstick for `eval` and `bench`.

It runs with the same weights as the pipeline (the offline base checkpoint, or whatever
`asr.model` names) and otherwise with its own defaults (beam 5, temperature fallback), on
the whole file: what a user would get without this project. `task="translate"` runs its
`--task translate` (English), whose timed segments are scored like the pipeline's sentences.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.files import atomic_write_text, file_sha256
from pipeline.models.whisper import locate_whisper

DESCRIPTION = "whisper (openai-whisper CLI, defaults: beam 5)"


@dataclass
class WhisperCliRun:
    text: str
    seconds: float  # wall time of the whole command, model loading included
    peak_rss_mb: float  # the largest child process so far (ru_maxrss of children)
    model: str
    language: str
    cached: bool = False
    task: str = "transcribe"
    cpu_seconds: float = 0.0  # user + system time of the command: less swayed by other load
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # timed text


def whisper_cli_command(
    clip: Path, model: str, language: str, threads: int, out: Path, task: str = "transcribe"
) -> list[str]:
    language_option = ["--language", language] if language != "auto" else []
    return [
        str(Path(sys.executable).with_name("whisper")),
        str(clip),
        "--model",
        model,
        "--task",
        task,
        *language_option,
        *("--device", "cpu", "--fp16", "False", "--threads", str(threads)),
        *("--output_dir", str(out), "--output_format", "json", "--verbose", "False"),
    ]


def run_whisper_cli(
    clip: Path, config: Config, cache: Path, task: str = "transcribe"
) -> WhisperCliRun:
    """Run the CLI on `clip` once and time it; `cache` is the pipeline's model cache."""
    where = locate_whisper(config.asr.model, cache)
    model = str(where.path) if where.path else config.asr.model
    with tempfile.TemporaryDirectory() as out:
        command = whisper_cli_command(
            clip, model, config.asr.language, config.runtime.threads, Path(out), task
        )
        started, cpu_before = time.perf_counter(), _children_cpu_seconds()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        cpu_seconds = _children_cpu_seconds() - cpu_before
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PipelineError(str(clip), f"whisper CLI failed: {last}")
        result = json.loads((Path(out) / f"{clip.stem}.json").read_text(encoding="utf-8"))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return WhisperCliRun(
        text=result.get("text", "").strip(),
        seconds=round(seconds, 2),
        cpu_seconds=round(cpu_seconds, 2),
        peak_rss_mb=round(peak_kb / 1024, 1),
        model=where.name,
        language=config.asr.language,
        task=task,
        segments=[(s["start"], s["end"], s["text"].strip()) for s in result.get("segments", [])],
    )


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cached_whisper_cli(
    clip: Path, config: Config, cache: Path, folder: Path, task: str = "transcribe"
) -> WhisperCliRun:
    """`run_whisper_cli`, remembered in `folder` by the file's SHA-256, model, language and
    task (the CLI takes about real time on one thread: reruns should not pay it again)."""
    model = locate_whisper(config.asr.model, cache).name
    suffix = "" if task == "transcribe" else f".{task}"
    key = f"{file_sha256(clip)}.{model}.{config.asr.language}{suffix}.json"
    stored = folder / key
    if stored.is_file():
        data = json.loads(stored.read_text(encoding="utf-8"))
        data["segments"] = [tuple(segment) for segment in data.get("segments", [])]
        return WhisperCliRun(**{**data, "cached": True})
    run = run_whisper_cli(clip, config, cache, task)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored, json.dumps(asdict(run), ensure_ascii=False, indent=2) + "\n")
    return run
