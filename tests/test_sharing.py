"""Windows shared between a helper thread and the thread that collects them."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from pipeline.sharing import SharedWindows


def _slow_square(calls: Counter, threads: set):
    def decode(window: int) -> int:
        calls[window] += 1
        threads.add(threading.current_thread().name)
        time.sleep(0.02)
        return window * window

    return decode


def test_a_helper_and_the_caller_decode_each_window_once_in_order():
    calls, threads = Counter(), set()
    shared = SharedWindows(_slow_square(calls, threads), workers=2)
    windows = list(range(12))
    shared.offer(windows)
    helper = threading.Thread(target=shared.help, name="helper")
    helper.start()
    assert shared(windows) == [w * w for w in windows]
    helper.join()
    assert calls == Counter(windows)  # each once
    assert {"helper", threading.current_thread().name} <= threads


def test_without_a_helper_the_caller_starts_its_own_up_to_workers():
    calls, threads = Counter(), set()
    shared = SharedWindows(_slow_square(calls, threads), workers=2)
    assert shared([3, 1, 2]) == [9, 1, 4]
    assert len(threads) == 2 and calls == Counter([3, 1, 2])


def test_one_worker_decodes_on_the_calling_thread_alone():
    calls, threads = Counter(), set()
    assert SharedWindows(_slow_square(calls, threads), workers=1)([2, 5]) == [4, 25]
    assert threads == {threading.current_thread().name}


def test_an_error_on_any_thread_reaches_the_caller():
    def decode(window: int) -> int:
        time.sleep(0.02)
        if window == 1:
            raise RuntimeError("window 1 failed")
        return window

    shared = SharedWindows(decode, workers=2)
    shared.offer([0, 1, 2])
    helper = threading.Thread(target=shared.help, name="helper")
    helper.start()
    with pytest.raises(RuntimeError, match="window 1 failed"):
        shared([0, 1, 2])
    helper.join()


def test_other_windows_than_those_offered_are_refused_and_close_stops_helpers():
    calls, threads = Counter(), set()
    shared = SharedWindows(_slow_square(calls, threads), workers=2)
    shared.offer([1, 2])
    with pytest.raises(ValueError):
        shared.offer([1, 3])
    shared.close()
    shared.help()
    assert not calls
