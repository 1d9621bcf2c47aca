"""One clip, in whichever process does the work: claim it, run it, record it."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from pipeline.batch.markers import as_cached, finished, write_done
from pipeline.batch.records import (
    LOCK_DIR,
    ClipResult,
    ClipTask,
    config_hash,
    now,
    one_line,
    worker_name,
)
from pipeline.cache import CACHE_DIR, digest
from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.timing import StageClock

if TYPE_CHECKING:
    from pipeline.models.registry import Models
    from pipeline.types import Transcript


log = logging.getLogger("pipeline")


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
            return as_cached(earlier)
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
            source, Path(task.out_dir), config, models, False, cache, clock, task.download
        )
    except PipelineError as exc:
        problem = exc.problem if Path(exc.subject) in (source, source.resolve()) else str(exc)
        return _failed(task, problem, started, cache)
    except Exception as exc:  # a library failing on one odd file must not stop the batch
        log.debug("clip %s failed", task.rel, exc_info=True)
        return _failed(task, f"{type(exc).__name__}: {one_line(str(exc))}", started, cache)
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
        finished_at=now(),
        worker=worker_name(),
        url=task.download.url if task.download else None,
        download=asdict(task.download) if task.download else None,
    )
    write_done(task, result, stat, digest_)
    return result


def _failed(task: ClipTask, problem: str, started: float, cache: Any) -> ClipResult:
    return ClipResult(
        task.rel,
        "failed",
        task.duration,
        wall_s=round(time.perf_counter() - started, 3),
        stages_run=list(cache.ran),
        stages_cached=list(cache.hits),
        error=one_line(problem),
        finished_at=now(),
        worker=worker_name(),
        url=task.download.url if task.download else None,
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


def _one_clip_threads(config: Config) -> None:
    """torch's threads reset before each clip, in case numba was imported with other settings
    (see `pipeline.models.registry.prepare_process`)."""
    import torch

    if torch.get_num_threads() != config.runtime.threads:
        torch.set_num_threads(config.runtime.threads)
