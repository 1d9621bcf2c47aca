"""Where clips run: this process, N spawned worker processes, or a Dask cluster.

Every worker loads its models once and keeps them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.batch.clip import process_task
from pipeline.batch.progress import Progress
from pipeline.batch.records import (
    BatchOptions,
    ClipResult,
    ClipTask,
    now,
)
from pipeline.cache import digest
from pipeline.config import Config
from pipeline.errors import PipelineError, one_line

if TYPE_CHECKING:
    from pipeline.models.registry import Models


log = logging.getLogger("pipeline")


@dataclass
class _PoolWorker:
    """What a pool worker process keeps from its start to its end: one set of models."""

    config: Config
    models: Models
    use_cache: bool
    messages: Any  # a multiprocessing queue of (clip, stage) for the parent's progress
    force: bool


# Process-wide by nature: a pool or Dask worker process keeps its models between the
# clips it is given, and these functions are what such a process runs.
_pool_worker: _PoolWorker | None = None
_dask_models: tuple[str, Models] | None = None  # (configuration digest, its models)
_dask_lock = threading.Lock()


def _start_worker(config: Config, use_cache: bool, messages: Any, force: bool) -> None:
    from pipeline.models.registry import Models, prepare_process

    global _pool_worker
    prepare_process(config)
    _pool_worker = _PoolWorker(config, Models(config), use_cache, messages, force)


def _pool_task(task: ClipTask) -> ClipResult:
    worker = _pool_worker
    assert worker is not None, "_start_worker runs first in every pool process"
    return process_task(
        task,
        worker.config,
        worker.models,
        worker.use_cache,
        lambda clip, stage: worker.messages.put((clip, stage)),
        worker.force,
    )


def dask_task(task: ClipTask, config: Config, use_cache: bool, force: bool) -> ClipResult:
    """Run one clip on a Dask worker, with models kept loaded in the worker process.

    Clips in one process run one at a time (the VAD model keeps state): start
    workers with `--nthreads 1` and as many `--nworkers` as memory allows.
    """
    from pipeline.models.registry import Models, prepare_process

    global _dask_models
    key = digest(config.model_dump(mode="json"))
    with _dask_lock:
        if _dask_models is None or _dask_models[0] != key:
            _dask_models = None  # one configuration's models at a time: memory is the limit
            prepare_process(config)
            _dask_models = (key, Models(config))
        return process_task(task, config, _dask_models[1], use_cache, None, force)


def _check_models(config: Config, models: Models | None) -> Models:
    from pipeline.models.registry import Models, prepare_process

    prepare_process(config)
    models = models or Models(config)
    models.check()
    return models


def run_here(
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


def run_pool(
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
                record(lost(task, "the worker process died (killed, or out of memory?)"))
        if broken:  # every clip still in that pool was lost with it
            for task in running.values():
                record(lost(task, "the worker process died (killed, or out of memory?)"))
            return True
    return False


def _relay(messages: Any, progress: Progress) -> None:
    while (item := messages.get()) is not None:
        progress.stage(*item)


def connect(scheduler: str) -> Any:
    """A Dask client of `scheduler`; called before the batch writes anything."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise PipelineError(str(scheduler), f"cannot reach the Dask scheduler: {exc}") from None


def run_dask(
    client: Any,
    tasks: list[ClipTask],
    config: Config,
    options: BatchOptions,
    record: Callable[[ClipResult], None],
    progress: Progress,
) -> None:
    """Send clips to the Dask scheduler; workers must see DIR and OUT at the same paths."""
    from distributed import as_completed

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
            record(lost(task, f"Dask worker failed: {type(exc).__name__}: {exc}"))


def lost(task: ClipTask, problem: str) -> ClipResult:
    return ClipResult(task.rel, "failed", task.duration, error=one_line(problem), finished_at=now())
