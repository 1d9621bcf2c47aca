"""Whisper checkpoints: where a requested model is, and loading it with its record."""

from __future__ import annotations

import json
import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import whisper

from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.types import ModelInfo

BUNDLED_WHISPER = "whisper/base-offline.pt"
BUNDLED_WHISPER_META = "whisper/base-offline.json"


@dataclass
class LoadedWhisper:
    model: whisper.Whisper
    info: ModelInfo


@dataclass
class WhisperLocation:
    """Where a requested Whisper model was found; `path` None means download it."""

    name: str
    path: Path | None
    source: str
    alignment_heads: bytes | None = None
    sha256: str | None = None


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
            f"({reason}). On a machine with internet run `make models WHISPER_SIZES={name}`, "
            "or set asr.model to the path of an openai-whisper .pt file"
            + (", or run `make setup` for the bundled offline base" if name == "base" else ""),
        ) from None


def _official_cache_file(name: str) -> Path:
    root = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    return root / os.path.basename(whisper._MODELS[name])


def _looks_like_path(value: str) -> bool:
    return os.sep in value or value.endswith(".pt") or value.startswith("~")
