"""The one way texts are made comparable: for the stages' own checks and for scoring."""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """Lowercase, ё as е, punctuation and symbols as spaces, single spaces.

    Used wherever two texts are compared: a stock hallucination against a segment,
    a repeated word against the one before, a hypothesis against its reference.
    """
    text = text.lower().replace("ё", "е")
    kept = (" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join("".join(kept).split())
