"""Breaking text: into cues at the cheapest break points, and a cue into lines.

Breaks after punctuation or before a conjunction or preposition are cheap; a break
inside a name (between two capitalised words) costs so much it happens only when
nothing else fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

_SENTENCE_PUNCTUATION = (".", "!", "?", "…", "»", '"')
_CLAUSE_PUNCTUATION = (",", ";", ":", "—", "–")
# A line may break before these: conjunctions and prepositions.
_BREAK_BEFORE = {
    "ru": frozenset(
        str.split(
            "и а но или либо что чтобы если когда пока потому поэтому как где который которая "
            "которые которое в во на с со к ко по для от до из за о об обо у при без через про "
            "перед между под над"
        )
    ),
    "en": frozenset(
        str.split(
            "and but or nor so that because if when while which who whom whose where to of in "
            "on at for with from by about into over under after before than as"
        )
    ),
}


def break_cost(tokens: Sequence[str], position: int, language: str) -> float:
    """How bad it is to break between tokens[position - 1] and tokens[position]."""
    if position >= len(tokens):
        return 0.0
    before, after = tokens[position - 1], tokens[position]
    if before.endswith(_SENTENCE_PUNCTUATION):
        return 1.0
    if before.endswith(_CLAUSE_PUNCTUATION) or after in ("—", "–"):
        return 2.0
    if _is_name(before) and _is_name(after):
        return 1000.0  # never inside a name, unless nothing else fits
    if after.lower().strip('«"(') in _BREAK_BEFORE.get(language, _BREAK_BEFORE["en"]):
        return 3.0
    return 8.0


def _is_name(token: str) -> bool:
    letters = token.strip("«»\"'()[]")
    return len(letters) > 1 and letters[0].isupper()


def wrap_lines(
    tokens: Sequence[str], line_chars: int, max_lines: int, first_prefix: int, language: str
) -> list[str] | None:
    """`tokens` on at most `max_lines` lines of `line_chars`, broken at the best point.

    The first line also holds `first_prefix` characters of speaker name. None when
    the tokens do not fit.
    """
    text = " ".join(tokens)
    if first_prefix + len(text) <= line_chars:
        return [text]
    if max_lines < 2:
        return None
    best: tuple[float, list[str]] | None = None
    for position in range(1, len(tokens)):
        top, bottom = " ".join(tokens[:position]), " ".join(tokens[position:])
        if first_prefix + len(top) > line_chars or len(bottom) > line_chars:
            continue
        # Prefer good break points, then balanced lines.
        cost = break_cost(tokens, position, language) + abs(len(top) - len(bottom)) / line_chars
        if best is None or cost < best[0]:
            best = (cost, [top, bottom])
    return best[1] if best else None


def chunk(
    tokens: Sequence[str],
    fits: Callable[[int, int], bool],
    language: str,
    max_chars: int,
    preferred_breaks: frozenset[int] = frozenset(),
) -> list[tuple[int, int]]:
    """Split `tokens` into consecutive pieces [i, j) that each `fits`, breaking well.

    Dynamic programming over break points: the total of the break costs plus a
    cost per piece (fewer, fuller cues read better). Pieces longer than
    `max_chars` are never tried. A single token always makes a piece, so there
    is always an answer; a piece that does not fit is left for the rules report.
    """
    n = len(tokens)
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        chars = -1
        for i in range(j - 1, -1, -1):
            chars += len(tokens[i]) + 1
            if j - i > 1:
                if chars > max_chars:
                    break
                if not fits(i, j):
                    continue
            cost = best[i] + 4.0 + break_cost(tokens, j, language)
            if j in preferred_breaks:
                cost -= 6.0
            if cost < best[j]:
                best[j], back[j] = cost, i
    pieces, j = [], n
    while j > 0:
        pieces.append((back[j], j))
        j = back[j]
    return pieces[::-1]
