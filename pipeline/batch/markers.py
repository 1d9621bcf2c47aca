"""Finished clips: a done marker per clip records its input and configuration.

A clip is finished when its marker (`OUT/.state/done/<path>.json`) holds the same
input (size and mtime, else its SHA-256) and the same configuration hash, and every
output it lists exists: it is then skipped without decoding.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.batch.records import (
    STATE_DIR,
    ClipResult,
    ClipTask,
)
from pipeline.files import atomic_write_text, file_sha256

if TYPE_CHECKING:
    pass


log = logging.getLogger("pipeline")


def done_marker(task: ClipTask) -> Path:
    return Path(task.out_root) / STATE_DIR / "done" / f"{task.rel}.json"


def finished(task: ClipTask, config_digest: str) -> ClipResult | None:
    """The clip's earlier result, if its outputs are complete for this input and config."""
    try:
        marker = json.loads(done_marker(task).read_text(encoding="utf-8"))
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


def write_done(task: ClipTask, result: ClipResult, stat: os.stat_result, digest_: str) -> None:
    marker = done_marker(task)
    marker.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "config_hash": digest_,
        "input_sha256": result.input_sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "row": asdict(result),
    }
    atomic_write_text(marker, json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def as_cached(row: ClipResult) -> ClipResult:
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
