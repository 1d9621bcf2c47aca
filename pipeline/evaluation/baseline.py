"""The plain `whisper` command-line tool, the yardstick for `eval` and `bench`.

It runs with the same weights as the pipeline (the offline base checkpoint, or whatever
`asr.model` names) and otherwise with its own defaults (beam 5, temperature fallback), on
the whole file: what a user would get without this project. `task="translate"` runs its
`--task translate` (English), whose timed segments are scored like the pipeline's sentences.
It gets as many threads as the pipeline keeps cores busy (`cli_threads`), so that times compare
like for like: on 2 cores, one thread would have doubled its time.
"""

from __future__ import annotations

import json
import logging
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

DESCRIPTION = "whisper (openai-whisper CLI, defaults: beam 5; the pipeline's cores)"
FILES_PER_COMMAND = 50
log = logging.getLogger("pipeline")


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
    # Files one command ran on: seconds and cpu_seconds are then an equal share of its time.
    files_in_command: int = 1


def cli_threads(config: Config) -> int:
    """The cores the pipeline keeps busy: `runtime.threads` per runner, two runners side by
    side with `runtime.parallel` (recognition beside diarization)."""
    return config.runtime.threads * (2 if config.runtime.parallel else 1)


def whisper_cli_command(
    clips: list[Path], model: str, language: str, threads: int, out: Path, task: str = "transcribe"
) -> list[str]:
    language_option = ["--language", language] if language != "auto" else []
    return [
        str(Path(sys.executable).with_name("whisper")),
        *(str(clip) for clip in clips),
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
            [clip], model, config.asr.language, cli_threads(config), Path(out), task
        )
        started, cpu_before = time.perf_counter(), _children_cpu_seconds()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        cpu_seconds = _children_cpu_seconds() - cpu_before
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PipelineError(str(clip), f"whisper CLI failed: {last}")
        result = json.loads((Path(out) / f"{clip.stem}.json").read_text(encoding="utf-8"))
    return _cli_run(result, seconds, cpu_seconds, where.name, config.asr.language, task)


def _cli_run(
    result: dict,
    seconds: float,
    cpu_seconds: float,
    model: str,
    language: str,
    task: str,
    files: int = 1,
) -> WhisperCliRun:
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return WhisperCliRun(
        text=result.get("text", "").strip(),
        seconds=round(seconds / files, 2),
        cpu_seconds=round(cpu_seconds / files, 2),
        peak_rss_mb=round(peak_kb / 1024, 1),
        model=model,
        language=language,
        task=task,
        segments=[(s["start"], s["end"], s["text"].strip()) for s in result.get("segments", [])],
        files_in_command=files,
    )


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cached_whisper_cli(
    clip: Path, config: Config, cache: Path, folder: Path, task: str = "transcribe"
) -> WhisperCliRun:
    """`run_whisper_cli`, remembered in `folder` by the file's SHA-256, model, language and
    task and thread count (the CLI takes about real time on one thread: reruns should not pay
    it again)."""
    stored = _stored_run(clip, config, cache, folder, task)
    if stored.is_file():
        data = json.loads(stored.read_text(encoding="utf-8"))
        data["segments"] = [tuple(segment) for segment in data.get("segments", [])]
        return WhisperCliRun(**{**data, "cached": True})
    run = run_whisper_cli(clip, config, cache, task)
    _store(run, stored)
    return run


def _stored_run(clip: Path, config: Config, cache: Path, folder: Path, task: str) -> Path:
    model = locate_whisper(config.asr.model, cache).name
    suffix = "" if task == "transcribe" else f".{task}"
    threads = cli_threads(config)
    return folder / f"{file_sha256(clip)}.{model}.{config.asr.language}{suffix}.t{threads}.json"


def _store(run: WhisperCliRun, stored: Path) -> None:
    stored.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored, json.dumps(asdict(run), ensure_ascii=False, indent=2) + "\n")


def prefetch_whisper_cli(
    clips: list[Path],
    config: Config,
    cache: Path,
    folder: Path,
    task: str = "transcribe",
    per_command: int = FILES_PER_COMMAND,
) -> int:
    """Run the CLI on those of `clips` that `folder` lacks, `per_command` files to a command,
    and store each file's run as `cached_whisper_cli` would; returns how many ran.

    For sets of many short files, where loading the model for every file would be most of the
    CLI's time (the pipeline loads its models once for the whole set, too). A file the CLI
    skips is left out, so `cached_whisper_cli` runs it alone and reports its error.
    """
    missing = [
        clip for clip in clips if not _stored_run(clip, config, cache, folder, task).is_file()
    ]
    for start in range(0, len(missing), per_command):
        part = missing[start : start + per_command]
        log.info(
            "eval: plain whisper CLI%s on %d file(s) in one command (%s ... %s) ...",
            "" if task == "transcribe" else f" --task {task}",
            len(part),
            part[0].name,
            part[-1].name,
        )
        for clip, run in _run_many(part, config, cache, task):
            _store(run, _stored_run(clip, config, cache, folder, task))
    return len(missing)


def _run_many(
    clips: list[Path], config: Config, cache: Path, task: str
) -> list[tuple[Path, WhisperCliRun]]:
    where = locate_whisper(config.asr.model, cache)
    model = str(where.path) if where.path else config.asr.model
    with tempfile.TemporaryDirectory() as temporary:
        # Numbered links: files of the set may share a name in different folders.
        links = []
        for number, clip in enumerate(clips):
            link = Path(temporary) / f"{number:05d}{clip.suffix}"
            link.symlink_to(clip.resolve())
            links.append(link)
        out = Path(temporary) / "out"
        command = whisper_cli_command(
            links, model, config.asr.language, cli_threads(config), out, task
        )
        started, cpu_before = time.perf_counter(), _children_cpu_seconds()
        subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        cpu_seconds = _children_cpu_seconds() - cpu_before
        runs = []
        for clip, link in zip(clips, links, strict=True):
            written = out / f"{link.stem}.json"
            if written.is_file():
                result = json.loads(written.read_text(encoding="utf-8"))
                run = _cli_run(
                    result, seconds, cpu_seconds, where.name, config.asr.language, task, len(clips)
                )
                runs.append((clip, run))
    return runs
