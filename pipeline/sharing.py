"""Work that any free thread may pick up: the overlap stage's windows.

Recognition and diarization run side by side, one core each. Whichever finishes first
leaves its core idle while the other goes on, and the overlap stage needs both done
before it may start. Its slow part, decoding each overlapped turn again, needs only the
diarizer's turns; so the diarization thread starts on those windows as soon as it has
them, and the recognition thread joins in once it is done. Each window is decoded once,
by one thread; the results are those of decoding them one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Window = TypeVar("Window")
Result = TypeVar("Result")


class SharedWindows(Generic[Window, Result]):
    """`decode_one` over a list of windows, by as many threads as call `help` (and by
    `workers` threads in all when called as a decoder)."""

    def __init__(self, decode_one: Callable[[Window], Result], workers: int = 1) -> None:
        self._decode_one = decode_one
        self.workers = workers
        self._windows: list[Window] | None = None
        self._results: dict[int, Result | BaseException] = {}
        self._taken = 0
        self._helping = 0
        self._changed = threading.Condition()

    def offer(self, windows: Sequence[Window]) -> None:
        """Make `windows` the work; later offers must be the same windows."""
        with self._changed:
            if self._windows is None:
                self._windows = list(windows)
            elif self._windows != list(windows):
                raise ValueError("the windows offered differ from those being decoded")

    def help(self) -> None:
        """Decode windows on this thread until none is left to take."""
        with self._changed:
            self._helping += 1
        try:
            while (index := self._take()) is not None:
                assert self._windows is not None
                try:
                    result: Result | BaseException = self._decode_one(self._windows[index])
                except BaseException as exc:  # handed to the thread that collects the results
                    result = exc
                with self._changed:
                    self._results[index] = result
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._helping -= 1

    def close(self) -> None:
        """Take no more windows (the stage will not run): helpers stop after their current one."""
        with self._changed:
            self._windows = self._windows or []
            self._taken = len(self._windows)

    def __call__(self, windows: Sequence[Window]) -> list[Result]:
        """Every window's result, in order: decoded here, by helpers already at work and,
        up to `workers` threads in all, by threads started for it."""
        self.offer(windows)
        with self._changed:
            extra = max(0, self.workers - 1 - self._helping)
        with ThreadPoolExecutor(max(1, extra), thread_name_prefix="windows") as pool:
            started = [pool.submit(self.help) for _ in range(extra)]
            self.help()
            for job in started:
                job.result()
        with self._changed:
            self._changed.wait_for(lambda: len(self._results) == len(self._windows or []))
            results = [self._results[index] for index in range(len(self._results))]
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results  # type: ignore[return-value]

    def _take(self) -> int | None:
        with self._changed:
            if self._windows is None or self._taken >= len(self._windows):
                return None
            self._taken += 1
            return self._taken - 1
