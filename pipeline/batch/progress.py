"""Progress of a batch: clips, hours of audio and time left, and each clip's stage."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING

from tqdm import tqdm

from pipeline.batch.records import (
    ClipResult,
    ClipTask,
    hms,
)

if TYPE_CHECKING:
    pass


log = logging.getLogger("pipeline")


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
            if result.traceback and log.isEnabledFor(logging.DEBUG):
                text += "\n" + result.traceback.rstrip()
            elif result.traceback:
                text += " (--debug shows the traceback)"
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
            f"audio {hms(self.audio)} of {hms(self.total_audio)}"
        )

    def _status_line(self) -> None:
        assert self.status is not None
        text = " | ".join(
            f"{clip}: {stage}" if clip else stage for clip, stage in self.current.items()
        )
        self.status.set_description_str(text[:200])
