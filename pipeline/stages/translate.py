"""Translation: each sentence into English, by an engine named in the output.

The engines (Argos Translate on the text, Whisper's translate task on the audio)
are loaded in `pipeline.models.translators`; this stage only hands them sentences,
and the English Whisper already heard during recognition (timed spans).
"""

from __future__ import annotations

from typing import Protocol

from pipeline.repeats import collapse_text_loops
from pipeline.types import ModelInfo, Sentence, TranslatedSpan

SOURCE, TARGET = "ru", "en"


class Translator(Protocol):
    info: ModelInfo

    def translate(
        self, sentences: list[Sentence], heard: list[TranslatedSpan]
    ) -> list[tuple[str, float | None]]:
        """Each sentence's English and its confidence (mean token log-probability)."""
        ...


def translate_sentences(
    sentences: list[Sentence],
    translator: Translator,
    heard: list[TranslatedSpan],
    max_repeats: int | None = None,
) -> list[Sentence]:
    """The sentences with `translation` and `translation_confidence` filled in; with
    `max_repeats`, a phrase repeated more often than that in a row (a decoding loop) is
    cut back to one copy."""
    if not sentences:
        return []
    for sentence, (text, confidence) in zip(
        sentences, translator.translate(sentences, heard), strict=True
    ):
        sentence.translation = collapse_text_loops(text, max_repeats) if max_repeats else text
        sentence.translation_confidence = confidence
    return sentences
