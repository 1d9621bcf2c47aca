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


# One sentence's English: its text, confidence (mean log-probability) and, where the
# engine scores words, each word's log-probability.
English = tuple[str, float | None, list[float] | None]


class Translator(Protocol):
    info: ModelInfo

    def translate(self, sentences: list[Sentence], heard: list[TranslatedSpan]) -> list[English]:
        """Each sentence's English, its confidence and its words' log-probabilities."""
        ...


def translate_sentences(
    sentences: list[Sentence],
    translator: Translator,
    heard: list[TranslatedSpan],
    max_repeats: int | None = None,
) -> list[Sentence]:
    """The sentences with `translation`, `translation_confidence` and
    `translation_word_logprobs` filled in; with `max_repeats`, a phrase repeated more
    often than that in a row (a decoding loop) is cut back to one copy (its words'
    log-probabilities are then dropped: they no longer match the words)."""
    if not sentences:
        return []
    for sentence, (text, confidence, word_logprobs) in zip(
        sentences, translator.translate(sentences, heard), strict=True
    ):
        kept = collapse_text_loops(text, max_repeats) if max_repeats else text
        sentence.translation = kept
        sentence.translation_confidence = confidence
        sentence.translation_word_logprobs = word_logprobs if kept == text else None
    return sentences
