"""The Russian word list the English checks use to spot misheard words (pymorphy3, MIT).

pymorphy3's dictionary (OpenCorpora, in the `pymorphy3-dicts-ru` package) knows every
inflected form of about 400 000 Russian words; loaded once per process, offline.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def russian_morphology() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")
