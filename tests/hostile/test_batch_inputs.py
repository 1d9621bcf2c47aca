"""Batch runs never write an input, report every odd file, and leave nothing when refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.batch.runner import BatchOptions, run_batch
from pipeline.config import load_config
from pipeline.errors import PipelineError
from tests.hostile.corpus import speech
from tests.hostile.test_corpus import fingerprint

FAST = load_config(None, {"diarization.enabled": False, "translate.engine": "none"})


def test_out_equal_to_the_folder_of_clips_is_refused_before_anything_is_written(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    speech(clips / "talk.wav")
    before = fingerprint(clips)
    with pytest.raises(PipelineError, match="the output folder is the folder of clips"):
        run_batch(BatchOptions(clips, clips, quiet=True), FAST)
    assert fingerprint(clips) == before
    assert sorted(p.name for p in clips.iterdir()) == ["talk.wav"]


def test_a_clip_whose_outputs_would_replace_an_input_fails_and_the_input_stays(tmp_path):
    out = tmp_path / "out"
    clips = out / "a"  # the clips inside the output folder: a/x.wav would write out/a/x.json
    (clips / "a").mkdir(parents=True)
    speech(clips / "a" / "x.wav")
    (clips / "x.json").write_text('{"my": "notes"}\n')
    before = fingerprint(clips)
    report = run_batch(BatchOptions(clips, out, quiet=True), FAST)
    rows = {r.path: r for r in report.results}
    assert rows["a/x.wav"].status == "failed"
    assert "would replace the input x.json" in rows["a/x.wav"].error
    assert fingerprint(clips) == before


def test_pipes_and_broken_links_named_as_media_are_failed_in_the_manifest(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    os.mkfifo(clips / "stream.wav")  # opening it would block: never probed
    (clips / "moved.mp4").symlink_to(tmp_path / "gone.mp4")
    os.mkfifo(clips / "pipe")
    report = run_batch(BatchOptions(clips, tmp_path / "out", quiet=True), FAST)
    rows = {r.path: r for r in report.results}
    assert rows["stream.wav"].status == "failed"
    assert rows["stream.wav"].error == "not a regular file (a named pipe)"
    assert rows["moved.mp4"].status == "failed"
    assert rows["moved.mp4"].error == "dangling symbolic link"
    assert rows["pipe"].status == "skipped"
    assert report.exit_code == 1


def _a_file(folder: Path) -> Path:
    (folder / "file").write_text("a file, not a folder\n")
    return folder / "file"


@pytest.mark.parametrize(
    ("make_out", "problem"),
    [
        (_a_file, "output folder is a file"),
        (lambda d: _a_file(d) / "sub", "lies under a file"),
        (lambda d: d / "results", "cannot reach the Dask scheduler"),
    ],
    ids=["out-is-a-file", "out-under-a-file", "no-scheduler"],
)
def test_a_refused_batch_leaves_no_manifest(make_out, problem, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    speech(clips / "talk.wav")
    out = make_out(tmp_path)
    scheduler = "tcp://127.0.0.1:9" if "scheduler" in problem else None  # nothing listens
    options = BatchOptions(clips, out, scheduler=scheduler, quiet=True)
    with pytest.raises(PipelineError, match=problem):
        run_batch(options, FAST)
    assert not list(tmp_path.rglob("manifest.*"))
    assert not (tmp_path / "results").exists()


def test_damaged_media_allowed_in_a_batch_carry_their_damage_into_the_manifest(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    whole = speech(tmp_path / "whole.wav", "-ar", "16000")
    (clips / "cut.wav").write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    allowed = FAST.model_copy(deep=True)
    allowed.audio.allow_damaged = True
    refused = run_batch(BatchOptions(clips, tmp_path / "refused", quiet=True), FAST)
    assert "damaged media" in refused.results[0].error
    report = run_batch(BatchOptions(clips, tmp_path / "out", quiet=True), allowed)
    row = report.results[0]
    assert row.status == "done"
    assert "decoding error" in row.damage
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["clips"][0]["damage"] == row.damage
