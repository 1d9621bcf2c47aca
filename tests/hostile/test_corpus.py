"""Every case of the hostile corpus: one clean line or a sensible result, evidence intact.

Error cases run the real command line in this process (they fail before any
model loads); the few odd-but-valid cases run the real pipeline, with
diarization and translation off, on models loaded once for the module.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
import srt

from pipeline.cli import build_parser, config_from_args, main
from pipeline.config import load_config
from pipeline.models.registry import Models
from pipeline.run import check_paths, transcribe_clip
from tests.hostile.corpus import MAKERS, Case, build


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Case]:
    return {c.name: c for c in build(tmp_path_factory.mktemp("hostile"))}


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links and pipes by what they are) and its SHA-256."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.exists():
            found[str(path)] = "link"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif not path.is_dir():
            found[str(path)] = "special"
    return found


def test_the_corpus_has_at_least_forty_kinds_of_input():
    assert len(MAKERS) >= 40


@pytest.fixture
def cli_logging():
    """`main` points the "pipeline" logger at this test's stderr; put it back afterwards."""
    log = logging.getLogger("pipeline")
    saved = log.handlers[:], log.propagate, log.level
    yield
    log.handlers[:], log.propagate, log.level = saved[0], saved[1], saved[2]


def test_every_error_case_is_one_line_before_any_work_and_leaves_everything_as_it_was(
    corpus, capsys, cli_logging
):
    """All error cases in one test: each is a separate CLI call in this process."""
    failures = []
    for case in corpus.values():
        if case.expect != "error":
            continue
        folder = case.clip.parent
        out = folder / "out"
        before = fingerprint(folder)
        code = main(case.command(out))
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        problems = []
        if code != 1:
            problems.append(f"exit {code}")
        if len(lines) != 1 or not lines[0].startswith("error: "):
            problems.append(f"stderr {lines!r}")
        elif case.problem not in lines[0]:
            problems.append(f"{lines[0]!r} does not say {case.problem!r}")
        if "Traceback" in captured.err:
            problems.append("traceback")
        if fingerprint(folder) != before:  # the output folder lies inside: no file left there
            problems.append("a file was written or changed")
        if case.out is None and out.exists():
            problems.append("an empty output folder was left")
        if problems:
            failures.append(f"{case.name}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def fast_models() -> Models:
    """Whisper and VAD only: the odd-but-valid cases test input handling, not speakers."""
    return Models(load_config(None, {"diarization.enabled": False, "translate.engine": "none"}))


def run_ok(case: Case, models: Models) -> tuple[dict, list[Path]]:
    """The command line of `case`, parsed as the CLI does, run on models already loaded."""
    out = case.clip.parent / "out"
    args = build_parser().parse_args(case.command(out))
    config = config_from_args(args)
    check_paths(args.clip, args.out)
    before = hashlib.sha256(case.clip.read_bytes()).hexdigest()
    _, paths = transcribe_clip(args.clip, args.out, config, models, progress=False)
    assert hashlib.sha256(case.clip.read_bytes()).hexdigest() == before
    leftovers = [p.name for p in args.out.iterdir() if p.name.startswith(".")]
    assert not leftovers, "temporary files left behind"
    data = json.loads(next(p for p in paths if p.suffix == ".json").read_text(encoding="utf-8"))
    return data, paths


def test_phase_inverted_stereo_is_heard_through_one_channel(corpus, fast_models):
    data, _ = run_ok(corpus["phase_inverted_stereo"], fast_models)
    assert data["source"]["channels_used"] == "left only"
    assert len([w for s in data["segments"] for w in s["words"]]) >= 3  # a whole sentence


def test_a_slide_show_does_not_snap_cues_to_its_one_second_grid(corpus, fast_models):
    data, paths = run_ok(corpus["slide_show_1fps"], fast_models)
    assert data["source"]["frame_rate"] == 1.0
    cues = list(srt.parse(next(p for p in paths if p.name.endswith(".ru.srt")).read_text()))
    assert cues
    for cue in cues:  # on the 25 fps grid, and as long as the speech, not a whole second more
        for time in (cue.start, cue.end):
            assert round(time.total_seconds() * 1000) % 40 == 0
        assert (cue.end - cue.start).total_seconds() < 4.5


def test_a_long_clip_name_gets_all_its_files(corpus, fast_models):
    case = corpus["long_name"]
    _, paths = run_ok(case, fast_models)
    assert len(case.clip.name) == 236
    assert {p.name.removeprefix(case.clip.stem) for p in paths} >= {".ru.srt", ".json"}


def test_a_name_with_a_dash_spaces_and_cyrillic_works(corpus, fast_models):
    _, paths = run_ok(corpus["dash_name_and_spaces"], fast_models)
    assert paths and all(p.name.startswith("-запись 1 (копия).") for p in paths)


def test_a_silent_default_track_says_which_other_tracks_there_are(corpus, fast_models, caplog):
    log = logging.getLogger("pipeline")
    log.addHandler(caplog.handler)  # the CLI's set-up may have stopped it propagating
    try:
        with caplog.at_level(logging.WARNING, logger="pipeline"):
            data, _ = run_ok(corpus["silent_default_track"], fast_models)
    finally:
        log.removeHandler(caplog.handler)
    assert "no speech found" in data["notes"]
    assert any("is silent" in r.message and "(rus)" in r.message for r in caplog.records)


def test_damaged_media_allowed_is_transcribed_with_the_damage_on_record(corpus, fast_models):
    data, _ = run_ok(corpus["damaged_allowed"], fast_models)
    source = data["source"]
    assert source["duration"] == pytest.approx(11.8, abs=0.1)  # what decoded, not the claim
    assert source["claimed_duration"] == pytest.approx(44.8)
    assert source["decode_errors"] >= 1
    assert "decoded 11.8 s of the 44.8 s" in source["damage"]
    assert any(note.startswith("damaged media") for note in data["notes"])
    assert all(w["end"] <= 12.0 for s in data["segments"] for w in s["words"])
