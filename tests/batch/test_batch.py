"""Batch runs over a folder: discovery, manifest, failure isolation, resume, locks, Dask.

Real models on real speech: short clips made from the asterisk Russian prompts.
Most runs leave diarization and translation off to stay quick on 2 cores; the
stage cache with every stage on is tested in test_cache.py.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt
import webvtt

from pipeline.batch.runner import BatchOptions, run_batch
from pipeline.config import Config
from pipeline.models.registry import Models
from pipeline.types import Transcript
from tests import support
from tests.conftest import REPO, UNEXPECTED

FAST = {"diarization.enabled": False, "translate.engine": "none"}
FAST_ARGS = ["--set", "diarization.enabled=false", "--set", "translate.engine=none"]
GOOD = {
    "a/b/clip one.mp4": "conf-placeintoconf",
    "речь/запись один.mkv": "confbridge-removed",
    "top.wav": "all-circuits-busy-now",
}


def make_clip(prompt: str, path: Path) -> Path:
    """A real spoken prompt in the container the name asks for (video for mp4)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = support.ASTERISK_RU / f"{prompt}.wav"
    if path.suffix == ".mp4":
        support.ffmpeg(
            "-f", "lavfi", "-i", "color=c=black:s=160x120:r=10", "-i", wav,
            "-shortest", "-c:v", "mpeg4", "-c:a", "aac", path,
        )  # fmt: skip
    elif path.suffix == ".mkv":
        support.ffmpeg("-i", wav, "-c:a", "libopus", path)
    else:
        support.ffmpeg("-i", wav, "-ar", "16000", "-ac", "1", path)
    return path


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    """Good clips in nested folders with spaces and Cyrillic, broken files, non-media files."""
    folder = tmp_path_factory.mktemp("batch") / "clips"
    for rel, prompt in GOOD.items():
        make_clip(prompt, folder / rel)
    good = (folder / "a/b/clip one.mp4").read_bytes()
    (folder / "a/broken.mp4").write_bytes(good[:3000])  # cut off: no index
    (folder / "a/text.mp4").write_text("these are notes, not a video\n")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.txt").write_text("interview notes\n")
    (folder / "a/b/old.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    (folder / ".hidden.wav").write_bytes((folder / "top.wav").read_bytes())
    return folder


@pytest.fixture(scope="module")
def fast_config() -> Config:
    from pipeline.config import load_config

    return load_config(None, FAST)


@pytest.fixture(scope="module")
def fast_models(fast_config) -> Models:
    return Models(fast_config)


@pytest.fixture(scope="module")
def first_run(clip_folder, fast_config, fast_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch-out") / "out"
    options = BatchOptions(clip_folder, out, quiet=True)
    return run_batch(options, fast_config, fast_models), out


def statuses(report) -> dict[str, str]:
    return {r.path: r.status for r in report.results}


def outputs_of(out: Path, rel: str) -> list[Path]:
    stem = Path(rel).with_suffix("")
    return [out / f"{stem}{ext}" for ext in (".ru.srt", ".ru.vtt", ".json")]


def check_outputs(out: Path, rel: str) -> Transcript:
    srt_path, vtt_path, json_path = outputs_of(out, rel)
    cues = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    assert cues, f"{srt_path} has no cues"
    assert len(webvtt.read(str(vtt_path)).captions) == len(cues)
    return Transcript.from_dict(json.loads(json_path.read_text(encoding="utf-8")))


def test_every_file_is_recorded_and_one_bad_file_does_not_stop_the_batch(first_run):
    report, _ = first_run
    assert statuses(report) == {
        "a/b/clip one.mp4": "done",
        "a/b/old.srt": "skipped",
        "a/broken.mp4": "failed",
        "a/text.mp4": "failed",
        "empty.mp4": "failed",
        "notes.txt": "skipped",
        "top.wav": "done",
        "речь/запись один.mkv": "done",
    }
    assert report.exit_code == 1
    errors = {r.path: r.error for r in report.failed}
    assert "not a readable media file" in errors["a/text.mp4"]
    assert errors["empty.mp4"] == "empty file (0 bytes)"
    assert all("\n" not in e for e in errors.values())
    assert "3 done, 3 failed, 2 skipped" in report.summary()


def test_output_tree_mirrors_the_input_tree(first_run):
    _, out = first_run
    for rel, prompt in GOOD.items():
        transcript = check_outputs(out, rel)
        assert transcript.source.name == Path(rel).name
        said = " ".join(s.text for s in transcript.segments)
        # Each output holds its own clip's words (another prompt scores about 1.0); the
        # int8 engine mishears half of one 8 kHz phone prompt ("все линии" -> "в силе").
        assert support.word_error_rate(support.prompt_texts()[prompt], said) < 0.6
    assert not (out / ".hidden.json").exists()
    assert not list(out.glob("**/broken.*")) and not list(out.glob("**/notes.*"))


def test_manifest_lists_status_durations_engines_and_errors(first_run, clip_folder):
    report, out = first_run
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = {row["path"]: row for row in data["clips"]}
    assert rows.keys() == statuses(report).keys()
    assert data["counts"]["done"] == 3 and data["counts"]["failed"] == 3
    done = rows["речь/запись один.mkv"]
    assert done["asr_model"] == "whisper-base"
    assert done["translation"] == "none" and done["diarization"] == "off"
    assert 2.0 < done["duration_s"] < 3.0 and done["wall_s"] > 0
    assert {"extract", "vad", "asr", "cues"} <= set(done["stages_run"])
    assert done["outputs"] and all((out / name).is_file() for name in done["outputs"])
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        table = {row["path"]: row for row in csv.DictReader(handle)}
    assert table.keys() == rows.keys()
    assert table["a/broken.mp4"]["status"] == "failed"
    assert table["a/broken.mp4"]["error"] == rows["a/broken.mp4"]["error"]
    assert table["notes.txt"]["note"].startswith("not media")


def test_rerun_skips_finished_clips_without_touching_them(
    first_run, clip_folder, fast_config, fast_models
):
    _, out = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".srt", ".json")}
    before.pop(out / "manifest.json")
    os.utime(clip_folder / "top.wav")  # a newer mtime alone is not a change: it is re-hashed
    report = run_batch(BatchOptions(clip_folder, out, quiet=True), fast_config, fast_models)
    assert {p: s for p, s in statuses(report).items() if s != "skipped"} == {
        "a/b/clip one.mp4": "cached",
        "a/broken.mp4": "failed",
        "a/text.mp4": "failed",
        "empty.mp4": "failed",
        "top.wav": "cached",
        "речь/запись один.mkv": "cached",
    }
    assert all(not r.stages_run for r in report.results)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["clips"]
    assert {r["path"]: r["status"] for r in rows}["top.wav"] == "cached"


def run_cli(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "batch", *map(str, args), "--quiet", *FAST_ARGS],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


TWO = sorted(GOOD)[::2]  # enough to kill one run mid-way, or to share between two


@pytest.fixture
def good_folder(clip_folder, tmp_path) -> Path:
    folder = tmp_path / "good clips"
    for rel in TWO:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(clip_folder / rel, folder / rel)
    return folder


def done_marker(out: Path, rel: str) -> Path:
    return out / ".state" / "done" / f"{rel}.json"


def test_after_kill_9_a_rerun_redoes_only_the_clips_in_flight(good_folder, tmp_path):
    out = tmp_path / "out"
    first = TWO[0]
    run = run_cli(good_folder, "--out", out)
    deadline = time.monotonic() + 300
    while not done_marker(out, first).exists():
        assert run.poll() is None, run.communicate()[1]
        assert time.monotonic() < deadline, "the first clip never finished"
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    finished = {rel for rel in TWO if done_marker(out, rel).exists()}
    json.loads((out / "manifest.json").read_text(encoding="utf-8"))  # still whole

    rerun = run_cli(good_folder, "--out", out)
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    rows = {r["path"]: r for r in json.loads((out / "manifest.json").read_text())["clips"]}
    assert rows[first]["status"] == "cached"
    for rel in TWO:
        assert rows[rel]["status"] == ("cached" if rel in finished else "done")
        check_outputs(out, rel)
    assert f"cached  {first}" in stderr


def test_two_runs_at_once_share_the_work_and_do_each_clip_once(good_folder, tmp_path):
    out = tmp_path / "out"
    runs = [run_cli(good_folder, "--out", out) for _ in range(2)]
    logs = [run.communicate(timeout=600)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    for rel in TWO:
        done = sum(line.startswith(f"done    {rel}  ") for log in logs for line in log.splitlines())
        assert done == 1, (rel, logs)
        check_outputs(out, rel)
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["clips"]
    assert sorted(r["path"] for r in rows) == TWO
    assert all(r["status"] in ("done", "cached") for r in rows)


# The decoder's own scores: CTranslate2's int8 sums come out a little different with another
# number of threads (a worker process has fewer): a word's probability moved by 0.053 once,
# while the words and times stay the same.
DECODER_SCORES = {
    "avg_logprob",
    "no_speech_prob",
    "probability",
    "translation_confidence",
    "translation_word_logprobs",
}


def comparable(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("stage_seconds")
    return data


def differences(first, second, where="") -> list[str]:
    """Where two transcripts differ, decoder scores within 0.1 counted as the same."""
    if isinstance(first, dict) and isinstance(second, dict):
        if first.keys() != second.keys():
            return [f"{where}: keys {sorted(first.keys() ^ second.keys())}"]
        return [d for key in first for d in differences(first[key], second[key], f"{where}.{key}")]
    if isinstance(first, list) and isinstance(second, list):
        if len(first) != len(second):
            return [f"{where}: {len(first)} != {len(second)} items"]
        pairs = zip(first, second, strict=True)
        return [d for i, (a, b) in enumerate(pairs) for d in differences(a, b, f"{where}[{i}]")]
    score = where.rsplit(".", 1)[-1].split("[")[0] in DECODER_SCORES
    if score and isinstance(first, float) and isinstance(second, float):
        return [] if abs(first - second) <= 0.1 else [f"{where}: {first} != {second}"]
    return [] if first == second else [f"{where}: {first!r} != {second!r}"]


def test_dask_cluster_gives_the_same_transcripts_as_one_process(
    first_run, clip_folder, fast_config, tmp_path
):
    from distributed import LocalCluster

    local, local_out = first_run
    out = tmp_path / "dask-out"
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        # Folder a/: one good clip, two broken files and a subtitle file.
        options = BatchOptions(
            clip_folder / "a", out, scheduler=cluster.scheduler_address, quiet=True
        )
        report = run_batch(options, fast_config)
    expected = {p.removeprefix("a/"): s for p, s in statuses(local).items() if p.startswith("a/")}
    assert statuses(report) == expected
    dask_json, local_json = (
        outputs_of(out, "b/clip one.mp4")[2],
        outputs_of(local_out, "a/b/clip one.mp4")[2],
    )
    assert differences(comparable(dask_json), comparable(local_json)) == []
    workers = {r.worker for r in report.results if r.status == "done"}
    assert len(workers) == 1 and workers != {f"{os.uname().nodename}:{os.getpid()}"}


def test_two_worker_processes_give_the_same_results_as_one_process(
    first_run, clip_folder, fast_config, tmp_path
):
    local, local_out = first_run
    out = tmp_path / "pool-out"
    report = run_batch(BatchOptions(clip_folder, out, workers=2, quiet=True), fast_config)
    assert statuses(report) == statuses(local)
    assert {r.path: r.error for r in report.results} == {r.path: r.error for r in local.results}
    for rel, status in statuses(local).items():
        if status == "done":
            ours, theirs = outputs_of(out, rel)[2], outputs_of(local_out, rel)[2]
            assert differences(comparable(ours), comparable(theirs)) == []
    workers = {r.worker for r in report.results if r.status == "done"}
    assert workers and f"{os.uname().nodename}:{os.getpid()}" not in workers


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_clip_failing_unexpectedly_shows_its_error_and_with_debug_its_traceback(
    debug, tmp_path, capsys, library_failure
):
    """A library's ValueError inside the clip's run."""
    from pipeline.cli import main

    folder = tmp_path / "clips"
    make_clip("conf-kicked", folder / "one.wav")
    args = ["batch", str(folder), "--out", str(tmp_path / "out"), "--quiet", *FAST_ARGS]
    status = main([*args, *(["--debug"] if debug else [])])
    assert status == 1
    err = capsys.readouterr().err
    assert f"error: one.wav: {UNEXPECTED}" in err
    assert ("Traceback (most recent call last)" in err) == debug
    assert ("--debug shows the traceback" in err) != debug
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "traceback" not in manifest["clips"][0]
