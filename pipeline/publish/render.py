"""Every output again from a transcript JSON, with no model loaded.

For the step after review: a corrected JSON (exported by the review page, or
edited by hand) is checked, its cues are laid out again under the subtitle
rules with the current speaker names, and every file is written as
`transcribe` writes it. A sentence whose text was corrected is laid out from
its new words, timed over the span of the words the model heard; the model's
own words stay in the JSON untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.config import Config, load_config
from pipeline.errors import PipelineError
from pipeline.loader import load
from pipeline.publish.burn import check_burnable
from pipeline.stages.subtitles import build_tracks
from pipeline.stages.translate import TARGET
from pipeline.stages.writers import write_outputs
from pipeline.types import Sentence, Transcript, Word


@dataclass
class Rendered:
    transcript: Transcript
    config: Config
    clip: Path  # where the page expects the clip (and burning reads it)
    paths: list[Path]


def render_file(
    json_path: Path,
    out_dir: Path | None = None,
    clip: Path | None = None,
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Rendered:
    """Rebuild every output of `json_path` into `out_dir` (default: the JSON's folder).

    The options are the ones recorded in the JSON, then `config_path`, then
    `overrides`; names given there win over the JSON's. `clip` defaults to the
    recorded file name beside the JSON.
    """
    json_path = Path(json_path)
    transcript = read_transcript(json_path)
    config = load_config(config_path, overrides, base=transcript.config, source=str(json_path))
    given_names = load_config(config_path, overrides).diarization.names
    relayout(transcript, config, given_names)
    out_dir = Path(out_dir) if out_dir is not None else json_path.parent
    clip = Path(clip) if clip is not None else json_path.parent / transcript.source.name
    if config.output.burn:
        check_burnable(clip)  # before any file is written
    formats = config.output.formats
    if not config.diarization.enabled:
        formats = [fmt for fmt in formats if fmt != "rttm"]
    paths = write_outputs(
        transcript,
        clip,
        out_dir,
        formats,
        config.output.speaker_prefix,
        config.output.vtt_name_text,
    )
    return Rendered(transcript, config, clip, paths)


def read_transcript(path: Path) -> Transcript:
    """`pipeline.load`, then the checks a hand-edited file needs (times in order)."""
    if path.suffix.lower() != ".json":
        raise PipelineError(str(path), "render needs a transcript JSON (<clip>.json)")
    transcript = load(path)
    problem = time_problem(transcript)
    if problem:
        raise PipelineError(str(path), problem)
    return transcript


def time_problem(transcript: Transcript) -> str | None:
    """What is wrong with the transcript's times and word ranges, or None."""
    words = transcript.words
    for index, word in enumerate(words):
        if not _span_ok(word.start, word.end):
            return f"word {index} ({word.text!r}) has times {word.start} to {word.end}"
    previous: Sentence | None = None
    for sentence in transcript.sentences:
        if not _span_ok(sentence.start, sentence.end):
            return f"sentence {sentence.id} has times {sentence.start} to {sentence.end}"
        if previous is not None and sentence.start < previous.start:
            return (
                f"times out of order: sentence {sentence.id} starts at {sentence.start:.3f} s, "
                f"before sentence {previous.id} ({previous.start:.3f} s)"
            )
        first_free = previous.first_word + previous.word_count if previous else 0
        if sentence.first_word < first_free or sentence.word_count < 0:
            return f"sentence {sentence.id}: its words overlap the previous sentence's"
        if sentence.first_word + sentence.word_count > len(words):
            return f"sentence {sentence.id}: words beyond the {len(words)} recorded"
        previous = sentence
    return None


def _span_ok(start: Any, end: Any) -> bool:
    numbers = all(isinstance(t, int | float) and math.isfinite(t) for t in (start, end))
    return numbers and 0 <= start <= end


def relayout(transcript: Transcript, config: Config, given_names: dict[str, str]) -> None:
    """Lay the cues out again, in place: names, corrected text, the subtitle rules."""
    labels = {s.speaker for s in transcript.sentences if s.speaker} | set(transcript.speakers)
    names = {label: transcript.speakers.get(label, label) for label in sorted(labels)}
    names.update({label: name for label, name in given_names.items() if label in names})
    transcript.speakers = names
    config.diarization.names = {label: name for label, name in names.items() if name != label}
    _clear_corrected_checks(transcript)
    words, sentences = cue_words(transcript)
    translated = any(s.translation for s in transcript.sentences)
    transcript.cues, transcript.violations = build_tracks(
        words,
        sentences,
        transcript.language,
        TARGET if translated else None,
        config.output,
        transcript.source.frame_rate,
        names if config.output.speaker_prefix and names else None,
    )
    transcript.config = config.model_dump(mode="json")


def _clear_corrected_checks(transcript: Transcript) -> None:
    """English a person corrected is no longer the machine's: its checks no longer apply."""
    corrected = {e.sentence_id for e in transcript.edits if e.kind == "translation"}
    for sentence in transcript.sentences:
        if sentence.id in corrected and sentence.checks:
            sentence.checks = []


def cue_words(transcript: Transcript) -> tuple[list[Word], list[Sentence]]:
    """The words and sentences to lay cues out from.

    A sentence whose text no longer matches its words (it was corrected) gets
    its new words, timed over the old ones; a sentence emptied is not shown.
    """
    words = transcript.words
    laid_words: list[Word] = []
    laid_sentences: list[Sentence] = []
    at = 0
    for sentence in transcript.sentences:
        laid_words += words[at : sentence.first_word]
        at = sentence.first_word + sentence.word_count
        heard = words[sentence.first_word : at]
        tokens = sentence.text.split()
        if [word.text.strip() for word in heard] != tokens:
            heard = _retimed(tokens, heard, sentence)
        if not heard:
            continue
        laid_sentences.append(replace(sentence, first_word=len(laid_words), word_count=len(heard)))
        laid_words += heard
    laid_words += words[at:]
    return laid_words, laid_sentences


def _retimed(tokens: list[str], heard: list[Word], sentence: Sentence) -> list[Word]:
    """Corrected words over the heard words' times: one for one, else shared by length."""
    if len(tokens) == len(heard):
        return [replace(word, text=token) for word, token in zip(heard, tokens, strict=True)]
    start = heard[0].start if heard else sentence.start
    end = heard[-1].end if heard else sentence.end
    weights = [len(token) + 1 for token in tokens]
    retimed, at = [], start
    for token, weight in zip(tokens, weights, strict=True):
        until = at + (end - start) * weight / sum(weights)
        retimed.append(Word(token, round(at, 3), round(until, 3), 1.0, sentence.speaker))
        at = until
    return retimed
