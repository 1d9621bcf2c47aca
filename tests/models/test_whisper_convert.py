import base64
import gzip

import numpy as np
import pytest
import whisper

from pipeline.config import model_cache_dir
from pipeline.models.provision import WHISPER_BASE_PACKAGES, _package_data
from pipeline.models.whisper import BUNDLED_WHISPER
from pipeline.models.whisper_convert import (
    ChecksumMismatchError,
    alignment_heads_dump,
    join_parts,
    read_ct2_file,
)


def _mask(dump: bytes) -> np.ndarray:
    return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)


def test_alignment_heads_match_openai_whispers_own_for_base():
    heads = [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]
    ours = alignment_heads_dump(heads, n_text_layer=6, n_text_head=8)
    assert np.array_equal(_mask(ours), _mask(whisper._ALIGNMENT_HEADS["base"]))


def test_alignment_head_out_of_range_is_refused():
    with pytest.raises(ValueError, match="outside"):
        alignment_heads_dump([[6, 0]], n_text_layer=6, n_text_head=8)


def test_join_parts_refuses_a_wrong_checksum_and_leaves_nothing(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"first")
    parts[1].write_bytes(b"second")
    with pytest.raises(ChecksumMismatchError):
        join_parts(parts, tmp_path / "joined.bin", "0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_truncated_ct2_file_is_rejected(tmp_path):
    part1 = _package_data(WHISPER_BASE_PACKAGES[0]) / "model.bin.part1"
    truncated = tmp_path / "model.bin"
    with part1.open("rb") as source:
        truncated.write_bytes(source.read(1_000_000))
    with pytest.raises(ValueError):
        read_ct2_file(truncated)


def test_bundled_checkpoint_has_base_dimensions(models):
    model = whisper.load_model(str(model_cache_dir() / BUNDLED_WHISPER))
    assert model.dims.n_text_layer == 6 and model.dims.n_audio_state == 512
    assert model.is_multilingual
