"""Cues from sentences: what goes on screen, and when.

A cue never leaves its sentence, so it has one speaker and links back to the
sentence it shows. Source-language cues follow the words' own times;
translated cues share their sentence's time span out by length. Each cue is
kept within a length and duration limit and wrapped into at most two lines.
"""

from __future__ import annotations

import textwrap

from pipeline.config import OutputOptions
from pipeline.types import Cue, Sentence, Word


def source_cues(words: list[Word], sentences: list[Sentence], options: OutputOptions) -> list[Cue]:
    cues: list[Cue] = []
    for sentence in sentences:
        own = words[sentence.first_word : sentence.first_word + sentence.word_count]
        for group in _split_words(own, options):
            text = " ".join(word.text for word in group)
            cues.append(
                Cue(
                    group[0].start,
                    group[-1].end,
                    _wrap(text, options),
                    sentence.speaker,
                    sentence.id,
                )
            )
    return cues


def translation_cues(sentences: list[Sentence], options: OutputOptions) -> list[Cue]:
    cues: list[Cue] = []
    for sentence in sentences:
        if not sentence.translation:
            continue
        pieces = _split_text(sentence.translation, options.max_cue_chars)
        total = sum(len(piece) for piece in pieces)
        start = sentence.start
        for piece in pieces:
            end = start + (sentence.end - sentence.start) * len(piece) / total
            cues.append(
                Cue(
                    round(start, 3),
                    round(end, 3),
                    _wrap(piece, options),
                    sentence.speaker,
                    sentence.id,
                )
            )
            start = end
    return cues


def _wrap(text: str, options: OutputOptions) -> list[str]:
    return textwrap.wrap(text, width=max(1, options.max_cue_chars // 2)) or [text]


def _split_text(text: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    for token in text.split():
        if current and len(" ".join([*current, token])) > max_chars:
            pieces.append(" ".join(current))
            current = []
        current.append(token)
    if current:
        pieces.append(" ".join(current))
    return pieces


def _split_words(words: list[Word], options: OutputOptions) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current and _too_big([*current, word], options):
            groups.append(current)
            current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def _too_big(words: list[Word], options: OutputOptions) -> bool:
    chars = sum(len(word.text) for word in words) + len(words) - 1
    duration = words[-1].end - words[0].start
    return chars > options.max_cue_chars or duration > options.max_cue_duration


def bilingual_cues(source: list[Cue], sentences: list[Sentence]) -> list[Cue]:
    """Source cues with their translation beneath: one cue holds both languages.

    A sentence shown in several source cues has its translation shared out
    over them by the source cues' lengths, at word boundaries.
    """
    by_sentence: dict[int | None, list[Cue]] = {}
    for cue in source:
        by_sentence.setdefault(cue.sentence_id, []).append(cue)
    translations = {s.id: s.translation or "" for s in sentences}
    result: list[Cue] = []
    for sentence_id, cues in by_sentence.items():
        shares = _share_words(translations.get(sentence_id, ""), [len(c.text) for c in cues])
        for cue, translated in zip(cues, shares, strict=True):
            lines = [" ".join(cue.lines)] + ([translated] if translated else [])
            result.append(Cue(cue.start, cue.end, lines, cue.speaker, sentence_id))
    return sorted(result, key=lambda cue: cue.start)


def _share_words(text: str, weights: list[int]) -> list[str]:
    words = text.split()
    total = sum(weights) or 1
    shares, taken, cumulative = [], 0, 0
    for weight in weights:
        cumulative += weight
        upto = round(len(words) * cumulative / total)
        shares.append(" ".join(words[taken:upto]))
        taken = upto
    return shares
