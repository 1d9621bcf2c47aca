"""Batch over a text file of links, served by a web server on 127.0.0.1 (no internet).

Real models on a real spoken clip; diarization and translation off to stay quick.
"""

import csv
import hashlib
import json

import pytest

from pipeline.batch.discovery import read_links
from pipeline.batch.runner import BatchOptions, run_batch
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.models.registry import Models
from pipeline.types import Transcript
from tests.batch.test_batch import FAST, make_clip
from tests.link_server import LinkServer


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return make_clip("conf-kicked", tmp_path_factory.mktemp("served") / "clip.mp4").read_bytes()


@pytest.fixture(scope="module")
def server(clip_bytes):
    with LinkServer(clip_bytes) as running:
        yield running


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory):
    """The same list of links run twice into one output folder."""
    folder = tmp_path_factory.mktemp("links")
    links = folder / "links.txt"
    links.write_text(
        "# clips posted on the council's channel\n"
        f"{server.url('clip.mp4')}\n"
        f"  {server.url('page.html')}   # the same video, inside the meeting page\n"
        "\n"
        f"{server.url('missing.mp4')}\n"
        "ftp://127.0.0.1/clip.mp4\n"
        f"{server.url('clip.mp4')}\n",
        encoding="utf-8",
    )
    config = load_config(None, {**FAST, "fetch.retries": 1, "fetch.timeout": 2})
    models = Models(config)
    out = folder / "out"
    reports = []
    for _ in range(2):
        before = dict(server.requests)
        report = run_batch(BatchOptions(links, out, quiet=True), config, models)
        reports.append((report, before, dict(server.requests)))
    return out, reports


def test_every_link_is_fetched_transcribed_or_reported(runs, server, clip_bytes):
    _, [(report, _, _), _] = runs
    name = f"clip-{hashlib.sha256(clip_bytes).hexdigest()[:8]}.mp4"
    assert {r.path: r.status for r in report.results} == {
        name: "done",
        server.url("page.html"): "skipped",  # the same bytes: transcribed once
        server.url("missing.mp4"): "failed",
        "ftp://127.0.0.1/clip.mp4": "failed",
    }
    assert report.exit_code == 1
    errors = {r.path: r.error for r in report.failed}
    assert "HTTP 404" in errors[server.url("missing.mp4")]
    assert "only http and https" in errors["ftp://127.0.0.1/clip.mp4"]


def test_the_manifest_and_the_json_carry_each_clip_provenance(runs, server, clip_bytes):
    out, _ = runs
    sha256 = hashlib.sha256(clip_bytes).hexdigest()
    rows = {row["url"]: row for row in json.loads((out / "manifest.json").read_text())["clips"]}
    done = rows[server.url("clip.mp4")]
    assert done["input_sha256"] == done["download"]["sha256"] == sha256
    assert done["download"]["extractor"] == "generic"
    (json_name,) = [name for name in done["outputs"] if name.endswith(".json")]
    transcript = Transcript.from_dict(json.loads((out / json_name).read_text()))
    assert transcript.source.download.url == server.url("clip.mp4")
    assert transcript.source.sha256 == sha256
    with (out / "manifest.csv").open(encoding="utf-8") as handle:
        table = {row["url"]: row for row in csv.DictReader(handle)}
    assert json.loads(table[server.url("clip.mp4")]["download"])["sha256"] == sha256


def test_a_second_run_downloads_nothing_and_redoes_nothing(runs, server):
    _, [_, (report, before, after)] = runs
    fetched = ("clip.mp4", "page.html")
    assert [after[path] for path in fetched] == [before[path] for path in fetched]
    assert after["missing.mp4"] == before["missing.mp4"] + 1  # a failed link is tried again
    statuses = {r.url: r.status for r in report.results}
    assert statuses[server.url("clip.mp4")] == "cached"


def test_a_list_of_links_skips_blanks_comments_and_repeats(tmp_path):
    links = tmp_path / "links.txt"
    links.write_text("\ufeff# notes\nhttps://a.example/v/1  # first\n\nhttps://a.example/v/1\n")
    assert read_links(links) == ["https://a.example/v/1"]
    links.write_text("https://a.example/v/1 https://a.example/v/2\n")
    with pytest.raises(PipelineError, match="one link a line"):
        read_links(links)
