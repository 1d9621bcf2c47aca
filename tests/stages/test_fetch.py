"""Clips given as links: yt-dlp's generic extractor against a web server on 127.0.0.1.

No internet: the server is started by the tests and serves a real spoken clip
directly, inside an HTML page's `<video>` tag and behind a redirect, next to a
404, a page without video, a download cut off halfway and one that never answers.
"""

import hashlib
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import srt
import yt_dlp.version

from pipeline.config import FetchOptions
from pipeline.errors import PipelineError
from pipeline.stages.fetch import fetch, is_link, resolve_clip
from pipeline.types import Transcript
from tests.batch.test_batch import FAST_ARGS
from tests.test_cli import run_cli

QUICK = FetchOptions(retries=1, timeout=2)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_direct_mp4_is_stored_under_its_sha256_with_its_provenance(server, clip_bytes, tmp_path):
    store = tmp_path / "store"
    before = datetime.now(UTC).replace(microsecond=0)
    path, download = fetch(server.url("clip.mp4"), store, QUICK)

    assert path.read_bytes() == clip_bytes
    assert path == store / "files" / f"{sha256(clip_bytes)}.mp4"
    assert (download.sha256, download.size_bytes) == (sha256(clip_bytes), len(clip_bytes))
    assert download.url == download.final_url == download.media_url == server.url("clip.mp4")
    assert (download.extractor, download.media_id) == ("generic", "clip")
    assert download.yt_dlp_version == yt_dlp.version.__version__
    assert before <= datetime.fromisoformat(download.downloaded_at) <= datetime.now(UTC)
    assert download.format and download.stored_as == path.name
    info = json.loads((path.parent / download.info_json).read_text(encoding="utf-8"))
    assert info["id"] == "clip" and info["webpage_url"] == server.url("clip.mp4")
    assert sorted(p.name for p in store.iterdir()) == ["files", "links"]  # no temporary left


def test_a_second_fetch_reuses_the_stored_file_without_the_network(server, tmp_path):
    first = fetch(server.url("clip.mp4"), tmp_path, QUICK)
    requests = server.requests["clip.mp4"]
    again = fetch(server.url("clip.mp4"), tmp_path, QUICK)
    assert again == first  # same file, same record: downloaded_at is the first download's
    assert server.requests["clip.mp4"] == requests


def test_a_page_with_a_video_tag_gives_the_video_and_the_page_title(server, clip_bytes, tmp_path):
    path, download = fetch(server.url("page.html"), tmp_path, QUICK)
    assert path.read_bytes() == clip_bytes
    assert download.final_url == server.url("page.html")
    assert download.media_url == server.url("clip.mp4")
    assert download.title.startswith("Council meeting")


def test_a_redirect_is_followed_and_both_ends_are_recorded(server, clip_bytes, tmp_path):
    path, download = fetch(server.url("moved"), tmp_path, QUICK)
    assert path.read_bytes() == clip_bytes
    assert download.url == server.url("moved")
    assert download.final_url == server.url("clip.mp4")


def closed_port_link() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/clip.mp4"  # nothing listens there any more


@pytest.mark.parametrize(
    ("path", "options", "problem"),
    [
        ("missing.mp4", QUICK, "HTTP 404"),
        ("nothing.html", QUICK, "no video found"),
        ("cut.mp4", QUICK, "stopped halfway"),
        ("stall.mp4", FetchOptions(retries=1, timeout=0.5), "no answer within 0.5 s"),
        ("clip.mp4", FetchOptions(max_size_mb=0.001), "larger than the 0.001 MB limit"),
        (None, QUICK, "connection refused"),
    ],
    ids=["404", "no-video", "cut-halfway", "timeout", "too-large", "no-network"],
)
def test_a_failed_fetch_is_one_line_naming_the_link_and_leaves_nothing(
    server, path, options, problem, tmp_path
):
    link = server.url(path) if path else closed_port_link()
    with pytest.raises(PipelineError) as failure:
        fetch(link, tmp_path / "out" / ".media", options)
    assert failure.value.subject == link
    assert problem in failure.value.problem and "\n" not in str(failure.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "link", ["ftp://127.0.0.1/clip.mp4", "file:///etc/passwd", "HTTP:///clip.mp4"]
)
def test_only_http_and_https_links_are_fetched(link, tmp_path):
    assert is_link(link)
    with pytest.raises(PipelineError, match=r"only http and https|no host name"):
        fetch(link, tmp_path, QUICK)
    assert not any(tmp_path.iterdir())


def test_local_names_are_not_links():
    assert not is_link("clip.mp4")
    assert not is_link("http:clip.mp4")
    assert not is_link("some folder/rtmp:clip.mp4")
    assert resolve_clip("a/clip.mp4", Path("out"), QUICK) == (Path("a/clip.mp4"), None)


def test_credentials_are_sent_only_when_given(server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1 login editor password secret-netrc\n")
    monkeypatch.setenv("HOME", str(home))
    seen = len(server.headers)
    fetch(server.url("clip.mp4"), tmp_path / "plain", QUICK)
    assert not any({"cookie", "authorization"} & h.keys() for h in server.headers[seen:])

    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tsecret-cookie\n"
    )
    seen = len(server.headers)
    options = FetchOptions(retries=1, timeout=2, cookies=str(cookies))
    path, download = fetch(server.url("clip.mp4"), tmp_path / "with-cookies", options)
    assert any("secret-cookie" in h.get("cookie", "") for h in server.headers[seen:])
    assert "secret-cookie" not in (path.parent / download.info_json).read_text()


def test_a_password_in_the_link_is_masked_in_messages(tmp_path):
    link = closed_port_link().replace("http://", "http://editor:hunter2@")
    with pytest.raises(PipelineError) as failure:
        fetch(link, tmp_path, QUICK)
    assert "hunter2" not in str(failure.value) and "editor:***@" in str(failure.value)


@pytest.fixture(scope="module")
def link_run(server, clip_bytes, tmp_path_factory):
    """`python -m pipeline transcribe LINK` twice into one folder, real models."""
    out = tmp_path_factory.mktemp("link") / "out"
    link = server.url("page.html")
    runs = []
    for _ in range(2):
        before = dict(server.requests)
        result = run_cli("transcribe", link, "--out", out, "-q", *FAST_ARGS)
        runs.append((result, before, dict(server.requests)))
    return out, runs


def test_transcribe_takes_a_link_and_records_where_the_clip_came_from(link_run, server, clip_bytes):
    out, [(result, _, _), _] = link_run
    assert result.returncode == 0, result.stderr
    name = f"page-1-{sha256(clip_bytes)[:8]}"
    transcript = Transcript.from_dict(json.loads((out / f"{name}.json").read_text()))
    assert transcript.source.sha256 == sha256(clip_bytes)
    download = transcript.source.download
    assert download.sha256 == sha256(clip_bytes)
    assert (download.url, download.media_url) == (server.url("page.html"), server.url("clip.mp4"))
    assert (out / ".media" / "files" / download.stored_as).is_file()
    assert transcript.source.name == download.stored_as  # named, never located
    assert list(srt.parse((out / f"{name}.ru.srt").read_text(encoding="utf-8")))


def test_transcribing_a_link_again_downloads_nothing_and_reruns_no_stage(link_run):
    out, [_, (again, before, after)] = link_run
    assert again.returncode == 0, again.stderr
    assert before == after
    transcript = json.loads(next(out.glob("*.json")).read_text())
    assert not {"extract", "vad", "asr"} & transcript["stage_seconds"].keys()


def test_a_link_that_fails_gives_one_line_exit_1_and_no_output(server, tmp_path):
    out = tmp_path / "out"
    result = run_cli("transcribe", server.url("missing.mp4"), "--out", out)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {server.url('missing.mp4')}: " + (
        "the server answered HTTP 404 Not Found"
    )
    assert not out.exists()
    result = run_cli("transcribe", "ftp://127.0.0.1/clip.mp4", "--out", out)
    assert result.returncode == 1 and "only http and https" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_link_to_something_that_is_not_media_fails_naming_the_link(server, tmp_path):
    out = tmp_path / "out"
    result = run_cli("transcribe", server.url("fake.mp4"), "--out", out, "-q", *FAST_ARGS)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {server.url('fake.mp4')}: not a readable media file")
    assert [p.name for p in out.iterdir()] == [".media"]  # the download, and no output
