"""Decoding loops: a phrase repeated over and over, cut back to one copy.

Whisper loops on bad audio, in its Russian ("да да да да ...") and in its
translations ("the city of the city of the city of ..."); both are cleaned the
same way. Texts are compared after `normalise`.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import TypeVar

from pipeline.text import normalise

T = TypeVar("T")

_PUNCTUATION = string.punctuation + "«»—–…„“”"


def collapse_repeats(
    items: list[T], max_repeats: int, longest: int = 4, key: Callable[[T], str] | None = None
) -> list[T]:
    """Cut a phrase of 1..`longest` items repeated more than `max_repeats` times to one copy.

    Items are words (`Word`, compared by their text) or strings, unless `key` says otherwise.
    """
    key = key or _text
    keys = [normalise(key(item)) for item in items]
    kept: list[T] = []
    i = 0
    while i < len(items):
        for n in range(1, longest + 1):
            repeats = _count_repeats(keys, i, n)
            if repeats > max_repeats:
                kept.extend(items[i : i + n])
                i += n * repeats
                break
        else:
            kept.append(items[i])
            i += 1
    return kept


def collapse_text_loops(text: str, max_repeats: int) -> str:
    """`text` with its word loops cut back to one copy (spacing kept where nothing is cut)."""
    words = text.split()
    kept = collapse_repeats(words, max_repeats)
    return text if len(kept) == len(words) else " ".join(kept)


def _text(item: object) -> str:
    return item if isinstance(item, str) else item.text  # type: ignore[attr-defined]


def _count_repeats(keys: list[str], start: int, n: int) -> int:
    phrase = keys[start : start + n]
    if len(phrase) < n:
        return 0
    count = 1
    while keys[start + count * n : start + (count + 1) * n] == phrase:
        count += 1
    return count
