"""Translation engines, found and loaded once: Argos Translate packages and Whisper's task.

Two real engines. Argos Translate (CTranslate2 + sentencepiece) translates the
recognised text; Whisper's own `translate` task listens to each sentence's
audio again and writes English directly. Which one ran is never hidden.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import whisper
from tqdm import tqdm

from pipeline.config import TranslateOptions
from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.models.whisper import LoadedWhisper
from pipeline.stages.translate import SOURCE, TARGET, Translator
from pipeline.types import SAMPLE_RATE, ModelInfo, Sentence

# Audio around a sentence given to Whisper, seconds: word times are loose.
CONTEXT_PAD = 0.2
# Sentences decoded together: one batched encoder pass is cheaper than several.
WHISPER_BATCH = 8


@dataclass
class WhisperTranslator:
    """Whisper's translate task on the audio of each sentence (greedy unless beam_size)."""

    whisper: LoadedWhisper
    beam_size: int | None = None
    progress: bool = False

    @property
    def info(self) -> ModelInfo:
        asr = self.whisper.info
        return ModelInfo(
            "translation", f"{asr.name} (translate task)", asr.sha256, "whisper: " + asr.source
        )

    def translate(self, sentences: list[Sentence], samples: np.ndarray, offset: float) -> list[str]:
        texts: list[str] = []
        batches = range(0, len(sentences), WHISPER_BATCH)
        for first in tqdm(batches, desc="translating", disable=not self.progress, leave=False):
            mels = torch.stack(
                [self._mel(s, samples, offset) for s in sentences[first : first + WHISPER_BATCH]]
            )
            results = whisper.decode(self.whisper.model, mels, self._options())
            texts += [result.text.strip() for result in results]
        return texts

    def _mel(self, sentence: Sentence, samples: np.ndarray, offset: float) -> torch.Tensor:
        first = max(0, int((sentence.start - offset - CONTEXT_PAD) * SAMPLE_RATE))
        last = int((sentence.end - offset + CONTEXT_PAD) * SAMPLE_RATE)
        audio = whisper.pad_or_trim(torch.from_numpy(samples[first:last]))
        model = self.whisper.model
        return whisper.log_mel_spectrogram(audio, model.dims.n_mels).to(model.device)

    def _options(self) -> whisper.DecodingOptions:
        return whisper.DecodingOptions(
            task="translate",
            language=SOURCE,
            beam_size=self.beam_size,
            without_timestamps=True,
            fp16=False,
        )


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

    def translate(self, sentences: list[Sentence], samples: np.ndarray, offset: float) -> list[str]:
        pkg = self.package
        tokens = [pkg.tokenizer.encode(sentence.text) for sentence in sentences]
        prefix = [[pkg.target_prefix]] * len(tokens) if pkg.target_prefix else None
        results = self.translator.translate_batch(
            tokens,
            target_prefix=prefix,
            beam_size=self.options.beam_size,
            max_batch_size=self.options.batch_size,
            replace_unknowns=True,
            length_penalty=0.2,
        )
        return [self._detokenise(result.hypotheses[0]) for result in results]

    def _detokenise(self, tokens: list[str]) -> str:
        text = self.package.tokenizer.decode(tokens)
        prefix = self.package.target_prefix
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        return text.strip()


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
