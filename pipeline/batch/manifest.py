"""`OUT/manifest.json` and `.csv`: one row per file, rewritten atomically under a lock."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from pipeline.batch.records import (
    LOCK_DIR,
    MANIFEST,
    STATUSES,
    ClipResult,
    now,
)
from pipeline.stages.writers import atomic_write_text

if TYPE_CHECKING:
    pass


log = logging.getLogger("pipeline")


MANIFEST_LOCK_TIMEOUT = 120.0


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
                "updated": now(),
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
        writer.writerow([_cell(v) for v in values.values()])
    return buffer.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, dict):  # a download's provenance
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value
