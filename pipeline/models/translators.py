"""Translation engines, found and loaded once: Argos Translate packages and Whisper's task.

Two real engines. Argos Translate (CTranslate2 + sentencepiece) translates the
recognised text; Whisper's own `translate` task writes English from the audio,
decoded during recognition from the same encoder pass, and is laid onto the
sentences here by time. Which one ran is never hidden.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.config import TranslateOptions
from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.models.whisper import LoadedWhisper
from pipeline.stages.subtitles.lines import break_cost
from pipeline.stages.translate import SOURCE, TARGET, English, Translator
from pipeline.types import ModelInfo, Sentence, TranslatedSpan

# A span of English that overlaps no sentence goes to the nearest one within this, seconds.
NEAREST_SENTENCE = 1.0
# Splitting a span's English between sentences: the cost of a break point a whole text's
# length away from where time puts it, against `break_cost` (1 after a full stop, 8 mid-
# clause): a full stop within a third of the text from that point beats a mid-clause break.
SPLIT_DISTANCE_COST = 20.0
# CTranslate2's length penalty for Argos: scores are log-probabilities over length**this.
ARGOS_LENGTH_PENALTY = 0.2


@dataclass
class WhisperTranslator:
    """Whisper's translate task: the English it decoded for each speech window (during
    recognition, from the same encoder output), laid onto the sentences by time."""

    whisper: LoadedWhisper
    beam_size: int | None = None

    @property
    def info(self) -> ModelInfo:
        asr = self.whisper.info
        return ModelInfo(
            "translation", f"{asr.name} (translate task)", asr.sha256, "whisper: " + asr.source
        )

    @property
    def english_beam(self) -> int:
        """What recognition needs to decode the English alongside the Russian."""
        return self.beam_size or 1

    def translate(self, sentences: list[Sentence], heard: list[TranslatedSpan]) -> list[English]:
        given: list[list[TranslatedSpan]] = [[] for _ in sentences]
        for span in heard:
            for index, part in _laid_on_sentences(span, sentences):
                given[index].append(part)
        return [_joined(spans) for spans in given]


def _laid_on_sentences(
    span: TranslatedSpan, sentences: list[Sentence]
) -> list[tuple[int, TranslatedSpan]]:
    """`span` on the sentences it overlaps, its text split between them by time.

    Whisper decodes a speech window's English in segments that often cover several
    sentences; given whole to one of them, a short sentence got the English of three
    and its cues could not be read in time. A span that overlaps no sentence goes
    whole to the nearest one within NEAREST_SENTENCE.
    """
    overlapped = [
        index
        for index, sentence in enumerate(sentences)
        if min(span.end, sentence.end) - max(span.start, sentence.start) > 0
    ]
    if len(overlapped) < 2:
        index = _sentence_for(span, sentences)
        return [] if index is None else [(index, span)]
    tokens = span.text.split()
    boundaries = [
        _time_share(span, (sentences[a].end + sentences[b].start) / 2)
        for a, b in itertools.pairwise(overlapped)
    ]
    cuts = [0, *_split_points(tokens, boundaries), len(tokens)]
    scores = span.word_logprobs if _scores_words(span) else None
    return [
        (
            index,
            replace(
                span,
                text=" ".join(tokens[low:high]),
                word_logprobs=scores[low:high] if scores else None,
            ),
        )
        for index, (low, high) in zip(overlapped, itertools.pairwise(cuts), strict=True)
        if high > low
    ]


def _scores_words(span: TranslatedSpan) -> bool:
    """Whether `span` has a log-probability for each of its words."""
    return span.word_logprobs is not None and len(span.word_logprobs) == len(span.text.split())


def _time_share(span: TranslatedSpan, moment: float) -> float:
    length = span.end - span.start
    return min(1.0, max(0.0, (moment - span.start) / length)) if length > 0 else 0.5


def _split_points(tokens: list[str], shares: list[float]) -> list[int]:
    """Token positions, one per share of the text's length, in order: each at a good
    break point (`break_cost`) near its share. Dynamic programming over positions."""
    ends = list(itertools.accumulate(len(token) + 1 for token in tokens))
    total = max(1, ends[-1] - 1) if ends else 1

    def cost(position: int, share: float) -> float:
        chars = ends[position - 1] - 1 if position > 0 else 0
        at_edge = position in (0, len(tokens))
        fit = 0.0 if at_edge else break_cost(tokens, position, TARGET)
        return fit + SPLIT_DISTANCE_COST * abs(chars / total - share)

    positions = range(len(tokens) + 1)
    best = {p: (cost(p, shares[0]), [p]) for p in positions} if shares else {}
    for share in shares[1:]:
        best = {
            p: min((best[q][0] + cost(p, share), [*best[q][1], p]) for q in positions if q <= p)
            for p in positions
        }
    return min(best.values())[1] if best else []


def _sentence_for(span: TranslatedSpan, sentences: list[Sentence]) -> int | None:
    """The sentence `span` overlaps most, else the nearest within NEAREST_SENTENCE."""
    overlaps = [min(span.end, s.end) - max(span.start, s.start) for s in sentences]
    best = max(range(len(sentences)), key=overlaps.__getitem__, default=None)
    if best is None or overlaps[best] > 0:
        return best
    if -overlaps[best] <= NEAREST_SENTENCE:
        return best
    return None


def _joined(spans: list[TranslatedSpan]) -> English:
    """One sentence's English from the spans laid on it: the text, the mean of its words'
    log-probabilities (where every span scored its words; else the mean of the spans'
    whole-decode averages, as an older cache holds) and the words' log-probabilities."""
    if not spans:
        return "", None, None
    text = " ".join(s.text for s in spans)
    if all(_scores_words(s) for s in spans):
        words = [logprob for s in spans for logprob in s.word_logprobs or []]
        return text, round(sum(words) / len(words), 4), words
    scores = [s.avg_logprob for s in spans if s.avg_logprob is not None]
    return text, round(sum(scores) / len(scores), 4) if scores else None, None


def describe_choice(options: TranslateOptions, argos_available: bool) -> str:
    """Which engine `auto` resolves to."""
    if options.engine != "auto":
        return options.engine
    return "argos" if argos_available else "whisper"


class ArgosTranslator:
    """An installed Argos Translate package, driven in batches without its sentence splitter.

    Argos normally splits text into sentences with a model it downloads on first
    use; our input is already sentences, so each one is tokenised with the
    package's own tokenizer and the batch goes straight to CTranslate2.
    """

    def __init__(self, package: Any, options: TranslateOptions, threads: int = 1):
        import ctranslate2

        self.package = package
        self.options = options
        self.translator = ctranslate2.Translator(
            str(package.package_path / "model"), device="cpu", intra_threads=threads
        )

    @property
    def info(self) -> ModelInfo:
        pkg = self.package
        name = f"argos {pkg.code or pkg.from_code + '->' + pkg.to_code} {pkg.package_version}"
        return ModelInfo(
            "translation", name, _model_sha256(pkg.package_path), "Argos Translate package"
        )

    def translate(self, sentences: list[Sentence], heard: list[TranslatedSpan]) -> list[English]:
        pkg = self.package
        tokens = [pkg.tokenizer.encode(sentence.text) for sentence in sentences]
        prefix = [[pkg.target_prefix]] * len(tokens) if pkg.target_prefix else None
        results = self.translator.translate_batch(
            tokens,
            target_prefix=prefix,
            beam_size=self.options.beam_size,
            max_batch_size=self.options.batch_size,
            replace_unknowns=True,
            length_penalty=ARGOS_LENGTH_PENALTY,
            return_scores=True,
        )
        return [
            (self._detokenise(result.hypotheses[0]), _mean_logprob(result), None)
            for result in results
        ]

    def _detokenise(self, tokens: list[str]) -> str:
        text = self.package.tokenizer.decode(tokens)
        prefix = self.package.target_prefix
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        return text.strip()


def _mean_logprob(result: Any) -> float | None:
    length = len(result.hypotheses[0])
    if not length:
        return None
    return round(result.scores[0] * length**ARGOS_LENGTH_PENALTY / length, 4)


def _model_sha256(package_path: Path) -> str | None:
    model = package_path / "model" / "model.bin"
    return file_sha256(model) if model.is_file() else None


def find_argos_package(options: TranslateOptions, cache: Path) -> Any | None:
    """The ru->en Argos package to use: the configured file, else an installed one."""
    if options.argos_package:
        return install_argos_package(Path(options.argos_package).expanduser(), cache)
    from argostranslate import package as argos

    for candidate in argos.get_installed_packages():
        if (candidate.from_code, candidate.to_code) == (SOURCE, TARGET):
            return candidate
    return None


def install_argos_package(path: Path, cache: Path) -> Any:
    """Unpack a .argosmodel into the model cache (once) and check what it translates."""
    from argostranslate.package import Package

    if not path.is_file():
        raise PipelineError(str(path), "Argos package file not found")
    if not zipfile.is_zipfile(path):
        raise PipelineError(str(path), "not an Argos package (not a zip archive)")
    target = cache / "argos" / file_sha256(path)[:16]
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=_make_dir(target.parent)))
        try:
            with zipfile.ZipFile(path) as archive:
                archive.extractall(staging)
            staging.rename(target)
        except (OSError, zipfile.BadZipFile) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise PipelineError(str(path), f"cannot unpack Argos package: {exc}") from None
    folders = [m.parent for m in target.glob("*/metadata.json")] + (
        [target] if (target / "metadata.json").is_file() else []
    )
    if not folders:
        raise PipelineError(str(path), "not an Argos package (no metadata.json)")
    try:
        package = Package(folders[0])
    except (OSError, ValueError, KeyError) as exc:
        raise PipelineError(str(path), f"corrupt Argos package: {exc}") from None
    if (package.from_code, package.to_code) != (SOURCE, TARGET):
        raise PipelineError(
            str(path),
            f"this Argos package translates {package.from_code}->{package.to_code}, "
            f"not {SOURCE}->{TARGET}",
        )
    if not (folders[0] / "model" / "model.bin").is_file() or not hasattr(package, "tokenizer"):
        raise PipelineError(str(path), "corrupt Argos package: no model or tokenizer inside")
    return package


def _make_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_translator(
    options: TranslateOptions, cache: Path, whisper: Callable[[], LoadedWhisper], threads: int
) -> Translator | None:
    """The engine `options` asks for; None for `none`. Never a silent substitute."""
    if options.engine == "none":
        return None
    package = find_argos_package(options, cache) if options.engine != "whisper" else None
    if describe_choice(options, package is not None) == "whisper":
        return WhisperTranslator(whisper(), options.whisper_beam_size)
    if package is None:
        raise PipelineError(
            "translate.engine",
            "argos was asked for but no Argos ru->en package is installed: run `make models` "
            "on a machine with internet, or `argospm install translate-ru_en`, or set "
            "translate.argos_package to a .argosmodel file",
        )
    try:
        return ArgosTranslator(package, options, threads)
    except RuntimeError as exc:  # CTranslate2 refuses a damaged model
        raise PipelineError(str(package.package_path), f"corrupt Argos package: {exc}") from None
