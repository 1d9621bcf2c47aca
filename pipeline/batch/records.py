"""What a batch run knows about each file: tasks, manifest rows, options and the report."""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipeline.cache import digest
from pipeline.config import Config
from pipeline.types import Download

if TYPE_CHECKING:
    pass


log = logging.getLogger("pipeline")


STATE_DIR = ".state"
LOCK_DIR = ".locks"
MANIFEST = "manifest"
# done: processed by this run; cached: finished before (by any run), not redone;
# failed: the error says why; skipped: not media; busy: another live run has claimed it.
STATUSES = ("done", "cached", "failed", "skipped", "busy")


@dataclass
class ClipTask:
    """One clip to process: absolute paths, so a worker on another machine finds it too."""

    source: str
    rel: str  # path below DIR, with "/"
    out_dir: str  # where its files go (OUT + the clip's folder below DIR)
    out_root: str
    duration: float | None  # from probing, for progress; None if unknown
    download: Download | None = None  # a clip fetched from a link: how (source is the stored file)

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
    url: str | None = None  # the link, for a clip fetched from a list of links
    download: dict[str, Any] | None = None  # its provenance: `pipeline.types.Download`

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
            f"{hms(audio)} of audio transcribed in {hms(self.wall_s)}{speed}; "
            f"manifest: {self.out / (MANIFEST + '.csv')}"
        )


def default_out(folder: Path) -> Path:
    """Beside the folder, never inside it: `clips/` -> `clips-subtitles/`
    (a list of links: `links.txt` -> `links-subtitles/`)."""
    folder = folder.resolve()
    name = folder.stem if folder.is_file() else folder.name
    return folder.parent / f"{name}-subtitles"


def config_hash(config: Config) -> str:
    """What a finished clip's outputs depend on: every option except `runtime` (speed only)
    and `fetch` (what a link gave is checked as the input file itself)."""
    return digest(config.model_dump(mode="json", exclude={"runtime", "fetch"}))


def hms(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def as_float(value: Any) -> float | None:
    try:
        return round(float(value), 3)
    except (TypeError, ValueError):
        return None
