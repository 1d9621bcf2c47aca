"""Batch runs: every clip under a folder, resumable, one bad file never stops the rest.

    python -m pipeline batch DIR [--out OUT] [--workers N | --scheduler tcp://HOST:PORT]

1. Discovery walks DIR (hidden names skipped) and asks ffprobe about every file
   (`pipeline.stages.audio.probe`: local files only). A file with an audio stream is a
   clip, whatever its name. A file ffprobe cannot read, or one without audio, is
   a *failed* clip when its extension says it should be media (`.mp4`, `.wav`,
   ...) and is *skipped* as not media otherwise (`notes.txt`, `clip.srt`, a photo).
2. A clip is finished when its done marker (`OUT/.state/done/<path>.json`) holds
   the same input (size and mtime, else its SHA-256) and the same configuration
   hash, and every output it lists exists: it is skipped without decoding.
3. Each clip is claimed with a non-blocking file lock (`OUT/.locks/`), so two
   runs on one folder share the work; processed through the stage cache
   (`pipeline.cache`); its files written atomically, then its done marker.
4. `OUT/manifest.json` and `manifest.csv` are rewritten atomically, under a lock
   and merged with what is on disk, after every clip.

Clips run in this process (`--workers 1`), in N spawned worker processes, or on
a Dask cluster; every worker loads its models once and keeps them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from tqdm import tqdm

from pipeline.cache import CACHE_DIR, digest
from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.stages.audio import choose_audio_stream, file_sha256, probe
from pipeline.stages.writers import atomic_write_text
from pipeline.timing import StageClock

if TYPE_CHECKING:
    from pipeline.models.registry import Models
    from pipeline.types import Transcript

log = logging.getLogger("pipeline")

# A file that fails to probe is a broken clip if named like media, else not media.
MEDIA_EXTENSIONS = frozenset(
    {
        "3g2", "3gp", "aac", "ac3", "aif", "aifc", "aiff", "amr", "ape", "asf", "avi", "caf",
        "dts", "f4v", "flac", "flv", "m2ts", "m4a", "m4b", "m4v", "mka", "mkv", "mov", "mp2",
        "mp3", "mp4", "mpeg", "mpg", "mts", "mxf", "oga", "ogg", "ogv", "opus", "spx", "ts", "vob",
        "wav", "weba", "webm", "wma", "wmv", "wv",
    }
)  # fmt: skip
STATE_DIR = ".state"
LOCK_DIR = ".locks"
MANIFEST = "manifest"
# done: processed by this run; cached: finished before (by any run), not redone;
# failed: the error says why; skipped: not media; busy: another live run has claimed it.
STATUSES = ("done", "cached", "failed", "skipped", "busy")
PROBE_THREADS = 4
MANIFEST_LOCK_TIMEOUT = 120.0


@dataclass
class ClipTask:
    """One clip to process: absolute paths, so a worker on another machine finds it too."""

    source: str
    rel: str  # path below DIR, with "/"
    out_dir: str  # where its files go (OUT + the clip's folder below DIR)
    out_root: str
    duration: float | None  # from probing, for progress; None if unknown

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel).stem


@dataclass
class ClipResult:
    """One manifest row: what happened to one file."""

    path: str  # below DIR, with "/"
    status: str  # one of STATUSES
    duration_s: float | None = None  # audio duration
    wall_s: float = 0.0  # time spent on it in this run
    stages_run: list[str] = field(default_factory=list)
    stages_cached: list[str] = field(default_factory=list)
    asr_model: str | None = None
    diarization: str | None = None
    translation: str | None = None
    speakers: int | None = None
    error: str | None = None
    note: str | None = None
    input_sha256: str | None = None
    outputs: list[str] = field(default_factory=list)  # below OUT, with "/"
    finished_at: str | None = None  # UTC, when the outputs were written
    worker: str | None = None  # host:pid that did the work

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClipResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class BatchOptions:
    folder: Path
    out: Path | None = None  # default: default_out(folder)
    workers: int = 1
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    cache: bool = True  # the stage cache under OUT/.cache
    force: bool = False  # redo finished clips (the stage cache still applies)
    quiet: bool = False  # no bars: one line per clip


@dataclass
class BatchReport:
    folder: Path
    out: Path
    results: list[ClipResult]
    wall_s: float

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def failed(self) -> list[ClipResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        counts = self.counts
        clips = sum(counts[s] for s in ("done", "cached", "failed", "busy"))
        parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        audio = sum(r.duration_s or 0 for r in self.results if r.status == "done")
        speed = f" ({audio / self.wall_s:.2f} h of audio per hour)" if audio else ""
        return (
            f"batch: {clips} clip(s): {', '.join(parts) or 'nothing to do'}; "
            f"{_hms(audio)} of audio transcribed in {_hms(self.wall_s)}{speed}; "
            f"manifest: {self.out / (MANIFEST + '.csv')}"
        )


def default_out(folder: Path) -> Path:
    """Beside the folder, never inside it: `clips/` -> `clips-subtitles/`."""
    folder = folder.resolve()
    return folder.parent / f"{folder.name}-subtitles"


def config_hash(config: Config) -> str:
    """What a finished clip's outputs depend on: every option except `runtime` (speed only)."""
    return digest(config.model_dump(mode="json", exclude={"runtime"}))


# --- discovery ---------------------------------------------------------------------------


def discover(
    folder: Path, out: Path, config: Config, quiet: bool = True
) -> tuple[list[ClipTask], list[ClipResult]]:
    """Every clip under `folder`, and a result for each file that is not one."""
    folder, out = folder.resolve(), out.resolve()
    files = sorted(_walk(folder, out), key=lambda p: p.relative_to(folder).as_posix())
    bar = tqdm(total=len(files), desc="probing", unit="file", disable=quiet, leave=False)
    with ThreadPoolExecutor(PROBE_THREADS) as pool:
        found = []
        for item in pool.map(lambda p: _classify(p, folder, out, config), files):
            found.append(item)
            bar.update()
    bar.close()
    tasks = [item for item in found if isinstance(item, ClipTask)]
    results = [item for item in found if isinstance(item, ClipResult)]
    return _drop_collisions(tasks, results)


def _walk(folder: Path, out: Path) -> Iterable[Path]:
    if not folder.is_dir():
        raise PipelineError(str(folder), "not a folder")
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        dirs[:] = [d for d in dirs if not d.startswith(".") and (here / d).resolve() != out]
        for name in names:
            path = here / name
            if not name.startswith(".") and path.is_file():
                yield path


def _classify(path: Path, folder: Path, out: Path, config: Config) -> ClipTask | ClipResult:
    rel = path.relative_to(folder).as_posix()
    looks_like_media = path.suffix.lower().lstrip(".") in MEDIA_EXTENSIONS

    def not_a_clip(problem: str) -> ClipResult:
        if looks_like_media:
            return ClipResult(rel, "failed", error=problem, finished_at=_now())
        return ClipResult(rel, "skipped", note=f"not media: {problem}")

    try:
        if path.stat().st_size == 0:
            return not_a_clip("empty file (0 bytes)")
        info = probe(path)
        choose_audio_stream(path, info.get("streams", []), config.audio)
    except PipelineError as exc:
        return not_a_clip(exc.problem)
    except OSError as exc:
        return not_a_clip(f"cannot read: {exc.strerror or exc}")
    duration = _float(info.get("format", {}).get("duration"))
    out_dir = out / PurePosixPath(rel).parent
    return ClipTask(str(path), rel, str(out_dir), str(out), duration)


def _drop_collisions(
    tasks: list[ClipTask], results: list[ClipResult]
) -> tuple[list[ClipTask], list[ClipResult]]:
    """`a/x.mp4` and `a/x.wav` would write the same `a/x.*` files: the second one fails."""
    kept: dict[tuple[str, str], ClipTask] = {}
    for task in tasks:
        name = (str(PurePosixPath(task.rel).parent), task.stem)
        if name in kept:
            other = kept[name].rel
            problem = f"its output files would overwrite those of {other}: rename one of them"
            results.append(ClipResult(task.rel, "failed", error=problem, finished_at=_now()))
        else:
            kept[name] = task
    return list(kept.values()), results


# --- finished clips ----------------------------------------------------------------------


def _done_marker(task: ClipTask) -> Path:
    return Path(task.out_root) / STATE_DIR / "done" / f"{task.rel}.json"


def finished(task: ClipTask, config_digest: str) -> ClipResult | None:
    """The clip's earlier result, if its outputs are complete for this input and config."""
    try:
        marker = json.loads(_done_marker(task).read_text(encoding="utf-8"))
        if marker["config_hash"] != config_digest:
            return None
        stat = os.stat(task.source)
        same_file = (marker["size"], marker["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
        if not same_file and file_sha256(Path(task.source)) != marker["input_sha256"]:
            return None
        row = ClipResult.from_dict(marker["row"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no marker, or one that cannot be trusted: process the clip
    out_root = Path(task.out_root)
    if not row.outputs or not all((out_root / name).is_file() for name in row.outputs):
        return None
    return row


def _write_done(task: ClipTask, result: ClipResult, stat: os.stat_result, digest_: str) -> None:
    marker = _done_marker(task)
    marker.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "config_hash": digest_,
        "input_sha256": result.input_sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "row": asdict(result),
    }
    atomic_write_text(marker, json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def _as_cached(row: ClipResult) -> ClipResult:
    return ClipResult(
        **{
            **asdict(row),
            "status": "cached",
            "wall_s": 0.0,
            "stages_run": [],
            "stages_cached": [],
            "note": "finished earlier with the same input and configuration",
        }
    )


# --- one clip, in whichever process does the work ----------------------------------------

StageReport = Callable[[str, str], None]  # (clip path below DIR, stage name)


def process_task(
    task: ClipTask,
    config: Config,
    models: Models,
    use_cache: bool = True,
    report: StageReport | None = None,
    force: bool = False,
) -> ClipResult:
    """Claim, process and record one clip; every error becomes a failed result."""
    started = time.perf_counter()
    lock_dir = Path(task.out_root) / LOCK_DIR
    lock_dir.mkdir(parents=True, exist_ok=True)
    claim = FileLock(lock_dir / f"{digest(task.rel)[:32]}.lock", timeout=0)
    try:
        claim.acquire()
    except Timeout:
        return ClipResult(task.rel, "busy", task.duration, note="claimed by another run")
    try:
        digest_ = config_hash(config)
        earlier = None if force else finished(task, digest_)
        if earlier is not None:  # another run finished it while this one was queued
            return _as_cached(earlier)
        return _process_claimed(task, config, models, use_cache, report, digest_, started)
    finally:
        claim.release()


def _process_claimed(
    task: ClipTask,
    config: Config,
    models: Models,
    use_cache: bool,
    report: StageReport | None,
    digest_: str,
    started: float,
) -> ClipResult:
    from pipeline.cache import StageCache
    from pipeline.run import NO_SPEECH, transcribe_clip

    _one_clip_threads(config)
    source = Path(task.source)
    cache = StageCache(Path(task.out_root) / CACHE_DIR if use_cache else None)
    clock = ReportingClock(task.rel, report)
    try:
        stat = os.stat(source)
        transcript, paths = transcribe_clip(
            source, Path(task.out_dir), config, models, False, cache, clock
        )
    except PipelineError as exc:
        problem = exc.problem if Path(exc.subject) in (source, source.resolve()) else str(exc)
        return _failed(task, problem, started, cache)
    except Exception as exc:  # a library failing on one odd file must not stop the batch
        log.debug("clip %s failed", task.rel, exc_info=True)
        return _failed(task, f"{type(exc).__name__}: {_one_line(str(exc))}", started, cache)
    result = ClipResult(
        path=task.rel,
        status="done",
        duration_s=round(transcript.source.duration, 3),
        wall_s=round(time.perf_counter() - started, 3),
        stages_run=list(clock.seconds),
        stages_cached=list(cache.hits),
        **_engines(transcript),
        speakers=len(transcript.speakers) if config.diarization.enabled else None,
        note=NO_SPEECH if NO_SPEECH in transcript.notes else None,
        input_sha256=transcript.source.sha256,
        outputs=[Path(p).relative_to(task.out_root).as_posix() for p in paths],
        finished_at=_now(),
        worker=_worker_name(),
    )
    _write_done(task, result, stat, digest_)
    return result


def _failed(task: ClipTask, problem: str, started: float, cache: Any) -> ClipResult:
    return ClipResult(
        task.rel,
        "failed",
        task.duration,
        wall_s=round(time.perf_counter() - started, 3),
        stages_run=list(cache.ran),
        stages_cached=list(cache.hits),
        error=_one_line(problem),
        finished_at=_now(),
        worker=_worker_name(),
    )


def _engines(transcript: Transcript) -> dict[str, str | None]:
    by_role: dict[str, list[str]] = {}
    for model in transcript.models:
        by_role.setdefault(model.role, []).append(model.name)
    return {
        "asr_model": " + ".join(by_role.get("asr", [])) or None,
        "diarization": " + ".join(
            name
            for role, names in by_role.items()
            if role not in ("asr", "vad", "translation")
            for name in names
        )
        or "off",
        "translation": " + ".join(by_role.get("translation", [])) or "none",
    }


class ReportingClock(StageClock):
    """A stage clock that also says which stage a clip has reached."""

    def __init__(self, clip: str, report: StageReport | None):
        super().__init__()
        self.clip = clip
        self.report = report

    def stage(self, name: str):  # type: ignore[override]
        if self.report is not None:
            self.report(self.clip, name)
        return super().stage(name)


# --- workers -----------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # a pool worker's models and settings, made once per process
_MODELS: dict[str, Models] = {}  # a Dask worker's models, by configuration
_MODELS_LOCK = threading.Lock()


def _one_clip_threads(config: Config) -> None:
    """torch's threads reset before each clip, in case numba was imported with other settings
    (see `pipeline.models.registry.prepare_process`)."""
    import torch

    if torch.get_num_threads() != config.runtime.threads:
        torch.set_num_threads(config.runtime.threads)


def _start_worker(config: Config, use_cache: bool, messages: Any, force: bool) -> None:
    from pipeline.models.registry import Models, prepare_process

    prepare_process(config)
    _WORKER.update(
        config=config, models=Models(config), cache=use_cache, messages=messages, force=force
    )


def _pool_task(task: ClipTask) -> ClipResult:
    messages = _WORKER["messages"]
    return process_task(
        task,
        _WORKER["config"],
        _WORKER["models"],
        _WORKER["cache"],
        lambda clip, stage: messages.put((clip, stage)),
        _WORKER["force"],
    )


def dask_task(task: ClipTask, config: Config, use_cache: bool, force: bool) -> ClipResult:
    """Run one clip on a Dask worker, with models kept loaded in the worker process.

    Clips in one process run one at a time (the VAD model keeps state): start
    workers with `--nthreads 1` and as many `--nworkers` as memory allows.
    """
    from pipeline.models.registry import Models, prepare_process

    key = digest(config.model_dump(mode="json"))
    with _MODELS_LOCK:
        if key not in _MODELS:
            prepare_process(config)
            _MODELS.clear()  # one configuration's models at a time: memory is the limit
            _MODELS[key] = Models(config)
        return process_task(task, config, _MODELS[key], use_cache, None, force)


# --- the run -----------------------------------------------------------------------------


def run_batch(options: BatchOptions, config: Config, models: Models | None = None) -> BatchReport:
    """Process every clip under `options.folder`; `models` is reused when running in-process."""
    started = time.perf_counter()
    folder = options.folder.resolve()
    out = (options.out or default_out(folder)).resolve()
    if not folder.is_dir():
        raise PipelineError(str(options.folder), "not a folder")
    if options.workers < 1:
        raise PipelineError("--workers", "must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    tasks, results = discover(folder, out, config, options.quiet)
    manifest = Manifest(out, folder, {t.rel for t in tasks} | {r.path for r in results})
    digest_ = config_hash(config)
    pending = []
    for task in tasks:
        earlier = None if options.force else finished(task, digest_)
        if earlier is None:
            pending.append(task)
        else:
            results.append(_as_cached(earlier))
    progress = Progress(pending, len(tasks) - len(pending), options.quiet)
    for result in results:
        progress.line(result)
    manifest.update(results)

    def record(result: ClipResult) -> None:
        results.append(result)
        manifest.update([result])
        progress.finished(result)

    saved_level = log.level
    log.setLevel(logging.WARNING)  # stage-by-stage messages would break the bars
    try:
        if not pending:
            pass
        elif options.scheduler:
            _run_dask(pending, config, options, record, progress)
        elif options.workers == 1:
            _run_here(pending, config, options, models, record, progress)
        else:
            _run_pool(pending, config, options, record, progress)
    finally:
        log.setLevel(saved_level)
        progress.close()
    results.sort(key=lambda r: r.path)
    return BatchReport(folder, out, results, round(time.perf_counter() - started, 3))


def _check_models(config: Config, models: Models | None) -> Models:
    from pipeline.models.registry import Models, prepare_process

    prepare_process(config)
    models = models or Models(config)
    models.check()
    return models


def _run_here(
    tasks: list[ClipTask],
    config: Config,
    options: BatchOptions,
    models: Models | None,
    record: Callable[[ClipResult], None],
    progress: Progress,
) -> None:
    models = _check_models(config, models)
    for task in tasks:
        progress.stage(task.rel, "claim")
        record(process_task(task, config, models, options.cache, progress.stage, options.force))


def _run_pool(
    tasks: list[ClipTask],
    config: Config,
    options: BatchOptions,
    record: Callable[[ClipResult], None],
    progress: Progress,
) -> None:
    """N spawned processes, each loading its models once; at most N clips in flight."""
    import multiprocessing

    _check_models(config, None)  # fail before starting workers if a model is missing
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    listener = threading.Thread(target=_relay, args=(messages, progress), daemon=True)
    listener.start()
    todo = list(reversed(tasks))
    try:
        while todo:
            pool = ProcessPoolExecutor(
                options.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(config, options.cache, messages, options.force),
            )
            broken = True
            try:
                broken = _drain(pool, todo, options.workers, record, progress)
            finally:
                pool.shutdown(wait=not broken, cancel_futures=True)
    finally:
        messages.put(None)
        listener.join(timeout=5)


def _drain(
    pool: ProcessPoolExecutor,
    todo: list[ClipTask],
    window: int,
    record: Callable[[ClipResult], None],
    progress: Progress,
) -> bool:
    """Feed `pool` until `todo` is empty; True if a worker process died."""
    running: dict[Future, ClipTask] = {}
    while todo or running:
        while todo and len(running) < window:
            task = todo.pop()
            progress.stage(task.rel, "queued")
            running[pool.submit(_pool_task, task)] = task
        done, _ = wait_futures(running, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            task = running.pop(future)
            try:
                record(future.result())
            except BrokenProcessPool:
                broken = True
                record(_lost(task, "the worker process died (killed, or out of memory?)"))
        if broken:  # every clip still in that pool was lost with it
            for task in running.values():
                record(_lost(task, "the worker process died (killed, or out of memory?)"))
            return True
    return False


def _relay(messages: Any, progress: Progress) -> None:
    while (item := messages.get()) is not None:
        progress.stage(*item)


def _run_dask(
    tasks: list[ClipTask],
    config: Config,
    options: BatchOptions,
    record: Callable[[ClipResult], None],
    progress: Progress,
) -> None:
    """Send clips to the Dask scheduler; workers must see DIR and OUT at the same paths."""
    from distributed import Client, as_completed

    try:
        client = Client(options.scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise PipelineError(
            str(options.scheduler), f"cannot reach the Dask scheduler: {exc}"
        ) from None
    with client:
        futures = {
            client.submit(dask_task, task, config, options.cache, options.force, pure=False): task
            for task in tasks
        }
        progress.stage("", f"{len(futures)} clip(s) sent to {options.scheduler}")
        for future in as_completed(futures):
            task = futures[future]
            try:
                record(future.result())
            except Exception as exc:  # a worker lost: the clip is failed, the rest goes on
                record(_lost(task, f"Dask worker failed: {type(exc).__name__}: {exc}"))


def _lost(task: ClipTask, problem: str) -> ClipResult:
    return ClipResult(
        task.rel, "failed", task.duration, error=_one_line(problem), finished_at=_now()
    )


# --- manifest ----------------------------------------------------------------------------


class Manifest:
    """`OUT/manifest.json` and `.csv`: one row per file, merged with what is on disk.

    Each update reads the manifest under a lock, replaces the rows it brings and
    writes both files atomically, so concurrent runs keep each other's rows and a
    kill leaves the last complete version. A `busy` row never replaces another
    row: the run that holds the clip reports it.
    """

    def __init__(self, out: Path, folder: Path, paths: set[str]):
        self.out = out
        self.folder = folder
        self.paths = paths  # files found in this run; rows of vanished files are dropped
        (out / LOCK_DIR).mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(out / LOCK_DIR / "manifest.lock", timeout=MANIFEST_LOCK_TIMEOUT)

    @property
    def json_path(self) -> Path:
        return self.out / f"{MANIFEST}.json"

    @property
    def csv_path(self) -> Path:
        return self.out / f"{MANIFEST}.csv"

    def read(self) -> dict[str, ClipResult]:
        try:
            data = json.loads(self.json_path.read_text(encoding="utf-8"))
            rows = [ClipResult.from_dict(row) for row in data["clips"]]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: unreadable, written anew (%s)", self.json_path, exc)
            return {}
        return {row.path: row for row in rows}

    def update(self, results: list[ClipResult]) -> None:
        with self.lock:
            rows = {p: r for p, r in self.read().items() if p in self.paths}
            for result in results:
                if result.status == "busy" and result.path in rows:
                    continue
                rows[result.path] = result
            ordered = [rows[p] for p in sorted(rows)]
            counts = Counter(r.status for r in ordered)
            document = {
                "folder": str(self.folder),
                "out": str(self.out),
                "updated": _now(),
                "counts": {s: counts[s] for s in STATUSES},
                "clips": [asdict(r) for r in ordered],
            }
            atomic_write_text(self.csv_path, _csv(ordered))
            atomic_write_text(
                self.json_path, json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            )


def _csv(rows: list[ClipResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [f.name for f in fields(ClipResult)]
    writer.writerow(names)
    for row in rows:
        values = asdict(row)
        writer.writerow(
            [
                " ".join(v) if isinstance(v, list) else ("" if v is None else v)
                for v in values.values()
            ]
        )
    return buffer.getvalue()


# --- progress ----------------------------------------------------------------------------


class Progress:
    """An overall bar (clips, hours of audio, time left) and a line of current stages.

    Quiet: no bars, one line per clip (for logs).
    """

    def __init__(self, pending: list[ClipTask], already: int, quiet: bool):
        self.quiet = quiet
        self.total_clips = len(pending) + already
        self.clips = already
        self.total_audio = sum(t.duration or 0.0 for t in pending)
        self.audio = 0.0
        self.current: dict[str, str] = {}
        self._lock = threading.Lock()
        self.bar = self.status = None
        if not quiet and pending:
            self.bar = tqdm(
                total=max(self.total_audio, 1e-6),
                file=sys.stderr,
                bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]",
                desc="batch",
                position=0,
            )
            self.status = tqdm(total=0, file=sys.stderr, bar_format="{desc}", position=1)
            self._refresh()

    def stage(self, clip: str, stage: str) -> None:
        with self._lock:
            self.current[clip] = stage
            if self.status is not None:
                self._status_line()

    def finished(self, result: ClipResult) -> None:
        with self._lock:
            self.current.pop(result.path, None)
            if result.status in ("done", "failed", "cached", "busy"):
                self.clips += 1
            if self.bar is not None:
                self.bar.update(result.duration_s or 0.0)
                self._refresh()
                self._status_line()
            self.line(result)

    def line(self, result: ClipResult) -> None:
        if result.status == "failed":
            text = f"error: {result.path}: {result.error}"
        else:
            text = f"{result.status:7} {result.path}"
            if result.status == "done":
                text += f"  ({result.duration_s or 0:.1f} s of audio in {result.wall_s:.1f} s)"
            if result.note:
                text += f": {result.note}"
        if self.bar is not None:
            tqdm.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        for bar in (self.status, self.bar):
            if bar is not None:
                bar.close()

    def _refresh(self) -> None:
        assert self.bar is not None
        self.audio = self.bar.n
        self.bar.set_postfix_str(
            f"{self.clips}/{self.total_clips} clips, "
            f"audio {_hms(self.audio)} of {_hms(self.total_audio)}"
        )

    def _status_line(self) -> None:
        assert self.status is not None
        text = " | ".join(
            f"{clip}: {stage}" if clip else stage for clip, stage in self.current.items()
        )
        self.status.set_description_str(text[:200])


# --- helpers -----------------------------------------------------------------------------


def _hms(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _float(value: Any) -> float | None:
    try:
        return round(float(value), 3)
    except (TypeError, ValueError):
        return None


__all__ = [
    "BatchOptions",
    "BatchReport",
    "ClipResult",
    "ClipTask",
    "dask_task",
    "default_out",
    "discover",
    "process_task",
    "run_batch",
]
