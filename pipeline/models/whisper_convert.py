"""Convert a CTranslate2 Whisper model directory into an openai-whisper checkpoint."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

WHISPER_SPEC_NAME = "WhisperSpec"
SUPPORTED_BINARY_VERSIONS = range(4, 7)
_CHUNK_BYTES = 1 << 20
_OUTPUT_MODE = 0o644

_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),
}
_BFLOAT16_ID = 5


class ChecksumMismatchError(ValueError):
    """The joined file does not have the expected SHA-256."""


@dataclass(frozen=True)
class Ct2Model:
    """Contents of a CTranslate2 ``model.bin``."""

    binary_version: int
    spec_name: str
    spec_revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def resolved(self) -> dict[str, np.ndarray]:
        """Variables plus every alias, pointing at the variable it names."""
        tensors = dict(self.variables)
        for alias, target in self.aliases.items():
            tensors[alias] = self.variables[target]
        return tensors


@dataclass(frozen=True)
class WhisperCheckpointInfo:
    """What ``convert_ct2_to_whisper`` wrote; ``alignment_heads`` feeds ``set_alignment_heads``."""

    path: Path
    dims: dict[str, int]
    alignment_heads: bytes | None
    n_params: int


class _Reader:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def exact(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise ValueError(f"model.bin is truncated: wanted {size} bytes, got {len(data)}")
        return data

    def scalar(self, fmt: str) -> int:
        return struct.unpack(fmt, self.exact(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = self.exact(self.scalar("<H"))
        return raw.rstrip(b"\0").decode("utf-8")

    def array(self) -> tuple[str, np.ndarray]:
        name = self.string()
        rank = self.scalar("<B")
        shape = tuple(self.scalar("<I") for _ in range(rank))
        type_id = self.scalar("<B")
        num_bytes = self.scalar("<I")
        if type_id not in _DTYPES:
            raise ValueError(f"{name}: unknown CTranslate2 dtype id {type_id}")
        dtype = _DTYPES[type_id]
        if num_bytes != dtype.itemsize * int(np.prod(shape)):
            raise ValueError(f"{name}: {num_bytes} bytes do not fit shape {shape}")
        values = np.frombuffer(self.exact(num_bytes), dtype=dtype).reshape(shape)
        if type_id == _BFLOAT16_ID:
            return name, _bfloat16_to_float32(values)
        return name, values


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def read_ct2_file(model_bin: Path) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` (binary versions 4 to 6)."""
    with model_bin.open("rb") as stream:
        reader = _Reader(stream)
        version = reader.scalar("<I")
        if version not in SUPPORTED_BINARY_VERSIONS:
            raise ValueError(f"{model_bin}: unsupported CTranslate2 binary version {version}")
        spec_name = reader.string()
        revision = reader.scalar("<I")
        variables = dict(reader.array() for _ in range(reader.scalar("<I")))
        aliases = {reader.string(): reader.string() for _ in range(reader.scalar("<I"))}
        if stream.read(1):
            raise ValueError(f"{model_bin}: trailing bytes after the alias table")
    return Ct2Model(version, spec_name, revision, variables, aliases)


def read_ct2_model(model_bin: Path) -> dict[str, np.ndarray]:
    """Variables of a CTranslate2 ``model.bin`` by name, aliases included."""
    return read_ct2_file(model_bin).resolved()


def _layer_count(tensors: dict[str, np.ndarray], prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in tensors:
        count += 1
    return count


def _whisper_dims(tensors: dict[str, np.ndarray]) -> dict[str, int]:
    conv1 = tensors["encoder/conv1/weight"]
    embeddings = tensors["decoder/embeddings/weight"]
    return {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": tensors["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(tensors["encoder/num_heads"]),
        "n_audio_layer": _layer_count(tensors, "encoder"),
        "n_vocab": embeddings.shape[0],
        "n_text_ctx": tensors["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": embeddings.shape[1],
        "n_text_head": int(tensors["decoder/num_heads"]),
        "n_text_layer": _layer_count(tensors, "decoder"),
    }


def _layer_norm(tensors: dict[str, np.ndarray], src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": tensors[f"{src}/gamma"], f"{dst}.bias": tensors[f"{src}/beta"]}


def _linear(tensors: dict[str, np.ndarray], src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": tensors[f"{src}/weight"], f"{dst}.bias": tensors[f"{src}/bias"]}


def _split_projection(
    tensors: dict[str, np.ndarray], src: str, dst: str, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    weights = np.split(tensors[f"{src}/weight"], len(names))
    biases = np.split(tensors[f"{src}/bias"], len(names))
    state: dict[str, np.ndarray] = {}
    for name, weight, bias in zip(names, weights, biases, strict=True):
        state[f"{dst}.{name}.weight"] = weight
        # openai-whisper's key projection has no bias; a key bias only shifts every
        # attention logit of a query by the same amount, so softmax ignores it anyway.
        if name != "key":
            state[f"{dst}.{name}.bias"] = bias
    return state


def _attention(
    tensors: dict[str, np.ndarray], src: str, dst: str, *, cross: bool
) -> dict[str, np.ndarray]:
    state = _layer_norm(tensors, f"{src}/layer_norm", f"{dst}_ln")
    if cross:
        state |= _linear(tensors, f"{src}/linear_0", f"{dst}.query")
        state |= _split_projection(tensors, f"{src}/linear_1", dst, ("key", "value"))
        state |= _linear(tensors, f"{src}/linear_2", f"{dst}.out")
    else:
        state |= _split_projection(tensors, f"{src}/linear_0", dst, ("query", "key", "value"))
        state |= _linear(tensors, f"{src}/linear_1", f"{dst}.out")
    return state


def _mlp(tensors: dict[str, np.ndarray], src: str, dst: str) -> dict[str, np.ndarray]:
    return (
        _layer_norm(tensors, f"{src}/layer_norm", f"{dst}.mlp_ln")
        | _linear(tensors, f"{src}/linear_0", f"{dst}.mlp.0")
        | _linear(tensors, f"{src}/linear_1", f"{dst}.mlp.2")
    )


def _encoder_state(tensors: dict[str, np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    state = (
        _linear(tensors, "encoder/conv1", "encoder.conv1")
        | _linear(tensors, "encoder/conv2", "encoder.conv2")
        | {"encoder.positional_embedding": tensors["encoder/position_encodings/encodings"]}
        | _layer_norm(tensors, "encoder/layer_norm", "encoder.ln_post")
    )
    for index in range(n_layers):
        src, dst = f"encoder/layer_{index}", f"encoder.blocks.{index}"
        state |= _attention(tensors, f"{src}/self_attention", f"{dst}.attn", cross=False)
        state |= _mlp(tensors, f"{src}/ffn", dst)
    return state


def _decoder_state(tensors: dict[str, np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    _check_tied_projection(tensors)
    state = (
        {"decoder.token_embedding.weight": tensors["decoder/embeddings/weight"]}
        | {"decoder.positional_embedding": tensors["decoder/position_encodings/encodings"]}
        | _layer_norm(tensors, "decoder/layer_norm", "decoder.ln")
    )
    for index in range(n_layers):
        src, dst = f"decoder/layer_{index}", f"decoder.blocks.{index}"
        state |= _attention(tensors, f"{src}/self_attention", f"{dst}.attn", cross=False)
        state |= _attention(tensors, f"{src}/attention", f"{dst}.cross_attn", cross=True)
        state |= _mlp(tensors, f"{src}/ffn", dst)
    return state


def _check_tied_projection(tensors: dict[str, np.ndarray]) -> None:
    projection = tensors.get("decoder/projection/weight")
    if projection is not None and not np.array_equal(
        projection, tensors["decoder/embeddings/weight"]
    ):
        raise ValueError("decoder output projection is not tied to the token embedding")
    if "decoder/projection/bias" in tensors:
        raise ValueError("decoder output projection has a bias; openai-whisper has none")


def _check_float_weights(tensors: dict[str, np.ndarray]) -> None:
    quantized = [name for name in tensors if name.endswith("_scale")]
    if quantized:
        raise ValueError(f"quantized CTranslate2 models are not supported ({quantized[0]})")


def whisper_state_dict(
    tensors: dict[str, np.ndarray],
) -> tuple[dict[str, int], dict[str, torch.Tensor]]:
    """Model dims and openai-whisper ``model_state_dict`` for CTranslate2 tensors."""
    _check_float_weights(tensors)
    dims = _whisper_dims(tensors)
    arrays = _encoder_state(tensors, dims["n_audio_layer"]) | _decoder_state(
        tensors, dims["n_text_layer"]
    )
    state = {name: torch.from_numpy(np.array(array)) for name, array in arrays.items()}
    return dims, state


def alignment_heads_dump(heads: list[list[int]], n_text_layer: int, n_text_head: int) -> bytes:
    """Encode ``[layer, head]`` pairs for ``whisper.model.Whisper.set_alignment_heads``."""
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < n_text_layer and 0 <= head < n_text_head):
            raise ValueError(f"alignment head {[layer, head]} outside {n_text_layer}x{n_text_head}")
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def _config_alignment_heads(ct2_dir: Path, dims: dict[str, int]) -> bytes | None:
    config_path = ct2_dir / "config.json"
    if not config_path.is_file():
        return None
    heads = json.loads(config_path.read_text(encoding="utf-8")).get("alignment_heads")
    if not heads:
        return None
    return alignment_heads_dump(heads, dims["n_text_layer"], dims["n_text_head"])


@contextmanager
def _atomic_output(out: Path) -> Iterator[BinaryIO]:
    """Yield a temp file next to ``out``; it replaces ``out`` only on success."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, _OUTPUT_MODE)  # mkstemp creates files readable by the owner only
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp_path.replace(out)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def join_parts(parts: list[Path], out: Path, expected_sha256: str) -> Path:
    """Concatenate ``parts`` into ``out`` atomically, verifying the SHA-256 on the way."""
    digest = hashlib.sha256()
    with _atomic_output(out) as sink:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(_CHUNK_BYTES):
                    digest.update(chunk)
                    sink.write(chunk)
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise ChecksumMismatchError(
                f"{out}: SHA-256 of joined parts is {actual}, expected {expected_sha256}"
            )
    return out


def convert_ct2_to_whisper(ct2_dir: Path, out_path: Path) -> WhisperCheckpointInfo:
    """Write an openai-whisper checkpoint (for ``whisper.load_model``) from a CT2 model dir.

    Weights keep their stored precision (fp16 for the usual faster-whisper models, like
    the official openai-whisper checkpoints); ``load_model`` upcasts them exactly to fp32.
    """
    model = read_ct2_file(ct2_dir / "model.bin")
    if model.spec_name != WHISPER_SPEC_NAME:
        raise ValueError(f"{ct2_dir}: expected a {WHISPER_SPEC_NAME}, got {model.spec_name}")
    dims, state = whisper_state_dict(model.resolved())
    heads = _config_alignment_heads(ct2_dir, dims)
    checkpoint: dict[str, object] = {"dims": dims, "model_state_dict": state}
    if heads is not None:
        checkpoint["alignment_heads"] = heads
    with _atomic_output(out_path) as sink:
        torch.save(checkpoint, sink)
    n_params = sum(tensor.numel() for tensor in state.values())
    return WhisperCheckpointInfo(out_path, dims, heads, n_params)
