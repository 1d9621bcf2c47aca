"""Speech recognition: Whisper over the speech windows, with word timestamps.

Either engine (`asr.engine`: CTranslate2 or openai-whisper) decodes the same
windows with the same options. When English is wanted from Whisper, each window's
English is decoded from the encoder output of its Russian pass, so the audio is
heard once. With `asr.condition_on_previous_window`, the Russian already recognised is
Whisper's prompt for the next window, as the whisper command carries it from one 30 s
window to the next; otherwise (the default) each window is decoded on its own. Times are then
moved onto the clip's timeline. Two known Whisper failures are cleaned up afterwards:
stock phrases it invents over silence, and decoding loops.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from pipeline.config import AsrOptions
from pipeline.repeats import collapse_repeats
from pipeline.text import normalise
from pipeline.types import SAMPLE_RATE, Segment, SpeechRegion, TranslatedSpan, Word

if TYPE_CHECKING:
    from pipeline.models.whisper import LoadedWhisper


@dataclass
class Recognition:
    segments: list[Segment]
    language: str
    dropped: list[str]  # texts removed as hallucinations, for the record
    english: list[TranslatedSpan] = field(default_factory=list)  # when asked for


def recognise(
    samples: np.ndarray,
    windows: list[SpeechRegion],
    whisper_model: LoadedWhisper,
    options: AsrOptions,
    offset: float = 0.0,
    progress: bool = True,
    english_beam: int | None = None,
) -> Recognition:
    """Transcribe each window of `samples`; times come back on the clip's timeline.

    With an `english_beam` (beam width, 1 for greedy) each window's English is decoded
    too, from the same encoder output.
    """
    segments: list[Segment] = []
    languages: list[str] = []
    dropped: list[str] = []
    english: list[TranslatedSpan] = []
    bar = tqdm(windows, desc="transcribing", unit="window", disable=not progress, leave=False)
    for window in bar:
        chunk = samples[int(window.start * SAMPLE_RATE) : int(window.end * SAMPLE_RATE)]
        heard_before = options.condition_on_previous_window
        said = " ".join(s.text for s in segments) if heard_before else ""
        result = whisper_model.decode_window(chunk, _decode_options(options, said), english_beam)
        languages.append(result.language or options.language)
        english += [_shift_span(span, window.start + offset) for span in result.english]
        for raw in result.segments:
            segment = _to_segment(raw, window, offset)
            segment = _collapse_segment_loops(segment, options.max_repeats)
            if not segment.words and not segment.text:
                continue
            if _is_stock_phrase(segment.text, options.drop_phrases):
                dropped.append(segment.text)
                continue
            segments.append(segment)
    language = max(set(languages), key=languages.count) if languages else options.language
    return Recognition(segments=segments, language=language, dropped=dropped, english=english)


def _shift_span(span: TranslatedSpan, shift: float) -> TranslatedSpan:
    return dataclasses.replace(
        span, start=round(span.start + shift, 3), end=round(span.end + shift, 3)
    )


def build_prompt(options: AsrOptions, said: str = "") -> str | None:
    """The initial prompt, the glossary, then `said` (the text of earlier windows): Whisper
    keeps the prompt's last 223 tokens, so the newest text wins."""
    parts = []
    if options.initial_prompt:
        parts.append(options.initial_prompt.strip())
    if options.glossary:
        parts.append(", ".join(options.glossary) + ".")
    if said.strip():
        parts.append(said.strip())
    return " ".join(parts) or None


def _decode_options(options: AsrOptions, said: str = "") -> dict[str, Any]:
    return {
        "language": None if options.language == "auto" else options.language,
        "task": "transcribe",
        "temperature": tuple(options.temperatures),
        "beam_size": options.beam_size,
        "best_of": options.best_of,
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "logprob_threshold": options.logprob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
        "condition_on_previous_text": False,
        "initial_prompt": build_prompt(options, said),
        "word_timestamps": True,
    }


def _to_segment(raw: dict[str, Any], window: SpeechRegion, offset: float) -> Segment:
    shift = window.start + offset
    low, high = window.start + offset, window.end + offset
    words: list[Word] = []
    for item in raw.get("words", []):
        text = item["word"].strip()
        if not text:
            continue
        start = _clamp(item["start"] + shift, low, high)
        end = _clamp(max(item["end"] + shift, start), low, high)
        word = Word(text, round(start, 3), round(end, 3), round(item["probability"], 4))
        # Whisper marks a new word by a leading space; without one ("-то", "%") the
        # piece belongs to the word before it.
        if words and not item["word"].startswith(" "):
            words[-1] = _join(words[-1], word)
        else:
            words.append(word)
    start = words[0].start if words else _clamp(raw["start"] + shift, low, high)
    end = words[-1].end if words else _clamp(raw["end"] + shift, low, high)
    return Segment(
        start=round(start, 3),
        end=round(end, 3),
        text=raw["text"].strip(),
        words=words,
        avg_logprob=round(raw["avg_logprob"], 4),
        no_speech_prob=round(raw["no_speech_prob"], 4),
        compression_ratio=round(raw["compression_ratio"], 4),
        temperature=raw["temperature"],
    )


def _join(first: Word, second: Word) -> Word:
    return Word(
        first.text + second.text,
        first.start,
        max(first.end, second.end),
        min(first.probability, second.probability),
    )


def _collapse_segment_loops(segment: Segment, max_repeats: int) -> Segment:
    words = collapse_repeats(segment.words, max_repeats)
    if len(words) == len(segment.words):
        return segment
    segment.words = words
    segment.text = " ".join(w.text for w in words)
    segment.end = words[-1].end if words else segment.end
    return segment


def _is_stock_phrase(text: str, phrases: list[str]) -> bool:
    said = normalise(text)
    if not said:
        return True
    for phrase in phrases:
        known = normalise(phrase)
        if known and known in said and len(known) >= 0.8 * len(said):
            return True
    return False


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)
