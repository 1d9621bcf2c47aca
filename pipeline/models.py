"""Every model the pipeline uses is found and loaded here, once per process.

`Models` loads lazily and keeps what it loaded, so a batch of clips reuses one
copy of each. What was actually loaded is described by a `ModelInfo` that goes
into every output: a user must be able to see which model made the text.
"""

from __future__ import annotations

import json
import os
import urllib.error
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import whisper

from pipeline.audio import file_sha256
from pipeline.config import Config, model_cache_dir
from pipeline.errors import PipelineError
from pipeline.speaker_models import (
    HUB_PIPELINE,
    load_hub_diarization,
    load_offline_diarization,
    offline_speaker_model_infos,
    require_speaker_models,
)
from pipeline.translate import Translator, load_translator
from pipeline.types import ModelInfo

BUNDLED_WHISPER = "whisper/base-offline.pt"
BUNDLED_WHISPER_META = "whisper/base-offline.json"


def cache_dir(configured: str | None = None) -> Path:
    return model_cache_dir(configured)


@dataclass
class LoadedWhisper:
    model: whisper.Whisper
    info: ModelInfo


@dataclass
class LoadedDiarization:
    pipeline: Any  # a pyannote.audio Pipeline
    infos: list[ModelInfo]


@dataclass
class WhisperLocation:
    """Where a requested Whisper model was found; `path` None means download it."""

    name: str
    path: Path | None
    source: str
    alignment_heads: bytes | None = None
    sha256: str | None = None


def prepare_process(config: Config) -> None:
    """Settings for a process that runs the models (before any of them is loaded).

    Whisper's numba must not raise torch's threads: `pipeline/__init__.py` sets
    NUMBA_NUM_THREADS, and torch gets `runtime.threads` here.
    """
    # Libraries warn about GPU-only features and optional decoders we do not use.
    warnings.filterwarnings("ignore", message=r"(?s).*torchcodec")
    warnings.filterwarnings("ignore", message=".*FP16 is not supported on CPU.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(config.runtime.threads)


class Models:
    """The models of one configuration, loaded on first use and then reused."""

    def __init__(self, config: Config):
        self.config = config
        self.cache = cache_dir(config.runtime.cache_dir)

    def check(self) -> None:
        """Fail now, before any clip is read, if a configured model cannot be found."""
        locate_whisper(self.config.asr.model, self.cache)
        self.translator  # noqa: B018 - an engine asked for but missing fails here
        if self.config.diarization.enabled:
            if self.diarization_kind == "offline":
                require_speaker_models(self.cache)
            else:
                self.diarization  # noqa: B018 - the hub pipeline fails fast only by loading

    def load_all(self) -> None:
        """Load every model the configuration uses now, so no clip's time includes loading."""
        self.whisper, self.vad, self.translator  # noqa: B018 - loaded on first use
        if self.config.diarization.enabled:
            self.diarization  # noqa: B018

    @cached_property
    def translator(self) -> Translator | None:
        return load_translator(
            self.config.translate,
            self.cache,
            lambda: self.whisper,
            self.config.runtime.threads,
        )

    @property
    def diarization_kind(self) -> str:
        options = self.config.diarization
        if options.pipeline != "auto":
            return options.pipeline
        return "community-1" if self.hf_token else "offline"

    @property
    def hf_token(self) -> str | None:
        token = self.config.diarization.hf_token
        return token.get_secret_value() if token else os.environ.get("HF_TOKEN") or None

    @cached_property
    def diarization(self) -> LoadedDiarization:
        options = self.config.diarization
        if self.diarization_kind == "community-1":
            if not self.hf_token:
                raise PipelineError(
                    "diarization.pipeline", "community-1 needs a Hugging Face token: set HF_TOKEN"
                )
            pipeline = load_hub_diarization(self.hf_token)
            infos = [ModelInfo("diarization", HUB_PIPELINE, None, "Hugging Face hub")]
        else:
            pipeline = load_offline_diarization(
                self.cache,
                threshold=options.threshold,
                min_cluster_size=options.min_cluster_size,
                segmentation_duration=options.window,
            )
            infos = offline_speaker_model_infos(self.cache)
        if self.config.runtime.device != "cpu":
            pipeline.to(torch.device(self.config.runtime.device))
        return LoadedDiarization(pipeline, infos)

    @cached_property
    def whisper(self) -> LoadedWhisper:
        return load_whisper(self.config.asr.model, self.cache, self.config.runtime.device)

    @cached_property
    def vad(self) -> torch.nn.Module:
        from silero_vad import load_silero_vad

        return load_silero_vad(onnx=False)

    @cached_property
    def vad_info(self) -> ModelInfo:
        from importlib.metadata import version

        return ModelInfo(
            role="vad",
            name="silero-vad",
            sha256=None,
            source=f"silero-vad {version('silero-vad')} package (JIT)",
        )


def locate_whisper(requested: str, cache: Path) -> WhisperLocation:
    """Resolve `asr.model`: explicit path, openai-whisper's cache, bundled base, download."""
    if _looks_like_path(requested):
        path = Path(requested).expanduser()
        if not path.is_file():
            raise PipelineError(requested, "asr.model: no such Whisper checkpoint file")
        return WhisperLocation(path.stem, path, f"file {path.name}")
    if requested not in whisper.available_models():
        names = ", ".join(whisper.available_models())
        raise PipelineError("asr.model", f"unknown Whisper model {requested!r} (known: {names})")
    official = _official_cache_file(requested)
    if official.is_file():
        expected = whisper._MODELS[requested].split("/")[-2]
        return WhisperLocation(
            requested,
            official,
            "openai-whisper cache",
            whisper._ALIGNMENT_HEADS[requested],
            expected,
        )
    bundled = cache / BUNDLED_WHISPER
    if requested == "base" and bundled.is_file():
        meta = json.loads((cache / BUNDLED_WHISPER_META).read_text())
        return WhisperLocation(
            "base",
            bundled,
            meta["source"],
            meta["alignment_heads"].encode("ascii"),
            meta["sha256"],
        )
    return WhisperLocation(requested, None, "download from openai-whisper's model store")


def load_whisper(requested: str, cache: Path, device: str = "cpu") -> LoadedWhisper:
    where = locate_whisper(requested, cache)
    if where.path is None:
        model = _download_whisper(requested, device)
        sha = whisper._MODELS[requested].split("/")[-2]
        where = WhisperLocation(requested, _official_cache_file(requested), where.source, None, sha)
    else:
        try:
            model = whisper.load_model(str(where.path), device=device)
        except Exception as exc:  # a truncated or foreign file: say which and why
            raise PipelineError(str(where.path), f"cannot load Whisper checkpoint: {exc}") from None
        if where.alignment_heads is not None:
            model.set_alignment_heads(where.alignment_heads)
    sha = where.sha256 or file_sha256(where.path)
    info = ModelInfo(role="asr", name=f"whisper-{where.name}", sha256=sha, source=where.source)
    return LoadedWhisper(model=model, info=info)


def _download_whisper(name: str, device: str) -> whisper.Whisper:
    try:
        return whisper.load_model(name, device=device)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PipelineError(
            "asr.model",
            f"Whisper model {name!r} is not installed here and could not be downloaded "
            f"({reason}). On a machine with internet run `make models WHISPER={name}`, "
            "or set asr.model to the path of an openai-whisper .pt file"
            + (", or run `make setup` for the bundled offline base" if name == "base" else ""),
        ) from None


def _official_cache_file(name: str) -> Path:
    root = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    return root / os.path.basename(whisper._MODELS[name])


def _looks_like_path(value: str) -> bool:
    return os.sep in value or value.endswith(".pt") or value.startswith("~")
