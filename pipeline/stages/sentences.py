"""Whole sentences from timed, attributed words: the unit that gets translated.

Whisper's segments are cut by its decoding window, not by grammar; a sentence
here ends at final punctuation, at a change of speaker or at a long pause, so
each one has a single speaker and its own time span.
"""

from __future__ import annotations

from pipeline.types import Segment, Sentence, Word

SENTENCE_END = (".", "!", "?", "…", '."', ".»", "!»", "?»")


def build_sentences(
    segments: list[Segment], max_pause: float = 1.5, max_words: int = 40
) -> list[Sentence]:
    """Group the words of `segments` (in time order) into sentences."""
    sentences: list[Sentence] = []
    current: list[Word] = []
    first = 0
    for index, word in enumerate(w for segment in segments for w in segment.words):
        if current and _starts_new(current, word, max_pause, max_words):
            sentences.append(_sentence(len(sentences), first, current))
            current, first = [], index
        current.append(word)
    if current:
        sentences.append(_sentence(len(sentences), first, current))
    return sentences


def _starts_new(current: list[Word], word: Word, max_pause: float, max_words: int) -> bool:
    last = current[-1]
    return (
        last.text.endswith(SENTENCE_END)
        or word.speaker != last.speaker
        or word.start - last.end > max_pause
        or len(current) >= max_words
    )


def _sentence(index: int, first_word: int, words: list[Word]) -> Sentence:
    return Sentence(
        id=index,
        start=words[0].start,
        end=words[-1].end,
        speaker=words[0].speaker,
        text=" ".join(word.text for word in words),
        first_word=first_word,
        word_count=len(words),
    )
