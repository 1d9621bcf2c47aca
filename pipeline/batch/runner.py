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

DIR may instead be a text file of http(s) links, one a line: each is fetched
once into the download store (`pipeline.stages.fetch`) before any clip runs.

Clips run in this process (`--workers 1`), in N spawned worker processes, or on
a Dask cluster; every worker loads its models once and keeps them.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pipeline.batch.discovery import discover, discover_links
from pipeline.batch.manifest import Manifest
from pipeline.batch.markers import as_cached, finished
from pipeline.batch.progress import Progress
from pipeline.batch.records import (
    BatchOptions,
    BatchReport,
    ClipResult,
    config_hash,
    default_out,
)
from pipeline.batch.workers import run_dask, run_here, run_pool
from pipeline.config import Config
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.models.registry import Models


log = logging.getLogger("pipeline")


def run_batch(options: BatchOptions, config: Config, models: Models | None = None) -> BatchReport:
    """Process every clip under `options.folder`; `models` is reused when running in-process."""
    started = time.perf_counter()
    folder = options.folder.resolve()
    out = (options.out or default_out(folder)).resolve()
    if not folder.exists():
        raise PipelineError(str(options.folder), "not a folder or a list of links")
    if options.workers < 1:
        raise PipelineError("--workers", "must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    if folder.is_file():  # a list of links
        tasks, results = discover_links(folder, out, config, options.quiet)
    else:
        tasks, results = discover(folder, out, config, options.quiet)
    manifest = Manifest(out, folder, {t.rel for t in tasks} | {r.path for r in results})
    digest_ = config_hash(config)
    pending = []
    for task in tasks:
        earlier = None if options.force else finished(task, digest_)
        if earlier is None:
            pending.append(task)
        else:
            results.append(as_cached(earlier))
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
            run_dask(pending, config, options, record, progress)
        elif options.workers == 1:
            run_here(pending, config, options, models, record, progress)
        else:
            run_pool(pending, config, options, record, progress)
    finally:
        log.setLevel(saved_level)
        progress.close()
    results.sort(key=lambda r: r.path)
    return BatchReport(folder, out, results, round(time.perf_counter() - started, 3))
