"""Translation: each sentence into English, by an engine named in the output.

The engines (Argos Translate on the text, Whisper's translate task on the audio)
are loaded in `pipeline.models.translators`; this stage only hands them sentences.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pipeline.repeats import collapse_text_loops
from pipeline.types import ModelInfo, Sentence

SOURCE, TARGET = "ru", "en"


class Translator(Protocol):
    info: ModelInfo

    def translate(
        self, sentences: list[Sentence], samples: np.ndarray, offset: float
    ) -> list[str]: ...


def translate_sentences(
    sentences: list[Sentence],
    translator: Translator,
    samples: np.ndarray,
    offset: float,
    max_repeats: int | None = None,
) -> list[Sentence]:
    """The sentences with their `translation` filled in; with `max_repeats`, a phrase
    repeated more often than that in a row (a decoding loop) is cut back to one copy."""
    if not sentences:
        return []
    texts = translator.translate(sentences, samples, offset)
    for sentence, text in zip(sentences, texts, strict=True):
        sentence.translation = collapse_text_loops(text, max_repeats) if max_repeats else text
    return sentences
