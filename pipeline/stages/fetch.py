"""Clips given as links: downloaded once by yt-dlp into a content-addressed store.

    STORE/files/<sha256>.<ext>                 the bytes as the site served them (read-only)
    STORE/files/<sha256>.<link key>.info.json  yt-dlp's info JSON, for each link that gave them
    STORE/links/<link key>.json                the link's `Download` record (chain of custody)

The link key is the SHA-256 of the link and the format selector, so a second run
with the same link finds its file without touching the network. A download goes
into a temporary folder inside the store and is moved in only when it is complete
and within the size limit; on any failure nothing is left behind.

Only http and https links are fetched. yt-dlp runs inside this process (no shell),
reads no configuration file, .netrc or browser profile, and sends cookies only
from a file the user names (`fetch.cookies`). The stored file then goes through
the same local-only ffmpeg path as any other clip.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipeline.cache import digest
from pipeline.config import FetchOptions
from pipeline.errors import PipelineError
from pipeline.stages.audio import file_sha256
from pipeline.stages.writers import atomic_write_text
from pipeline.types import Download

log = logging.getLogger("pipeline")

STORE_DIR = ".media"  # in the output folder, unless fetch.store says otherwise
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ALLOWED_SCHEMES = ("http", "https")
# Keys of yt-dlp's info that can hold what the user sent to log in.
_PRIVATE_KEYS = {"cookies", "cookie", "authorization", "proxy-authorization"}


def is_link(text: str) -> bool:
    """Whether `text` names something by URL (any scheme) rather than a local path."""
    return bool(_SCHEME.match(text.strip()))


def resolve_clip(given: str, out: Path, options: FetchOptions) -> tuple[Path, Download | None]:
    """The local file to transcribe: `given` itself, or the stored download of a link."""
    if not is_link(given):
        return Path(given), None
    return fetch(given, store_path(options, out), options)


def store_path(options: FetchOptions, out: Path) -> Path:
    return Path(options.store).expanduser() if options.store else Path(out) / STORE_DIR


def output_name(download: Download) -> str:
    """Name for a fetched clip's outputs: the site's media id and the file's hash, `id-1a2b3c4d`."""
    from yt_dlp.utils import sanitize_filename

    media_id = sanitize_filename(download.media_id or "clip", restricted=True)
    return f"{media_id.replace('.', '_')[:60] or 'clip'}-{download.sha256[:8]}"


def check_link(text: str) -> str:
    """`text` as an http(s) link, or a one-line error naming it."""
    link = text.strip()
    parts = urlsplit(link)
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise PipelineError(mask(link), "only http and https links can be fetched")
    if not parts.hostname:
        raise PipelineError(mask(link), "not a valid link (no host name)")
    return link


def mask(link: str) -> str:
    """`link` with a password in it replaced by ***, for messages and records."""
    parts = urlsplit(link)
    if parts.password is None:
        return link
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def fetch(link: str, store: Path, options: FetchOptions) -> tuple[Path, Download]:
    """The stored file for `link` and how it was obtained: from the store, else downloaded."""
    link = check_link(link)
    key = _link_key(link, options.format)
    found = _stored(link, store, key)
    if found is not None:
        log.info("%s: already downloaded, %s", mask(link), found[0])
        return found
    log.debug("fetching %s", mask(link))
    return _download(link, store, key, options)


def _link_key(link: str, selector: str) -> str:
    return digest({"link": link, "format": selector})


def _stored(link: str, store: Path, key: str) -> tuple[Path, Download] | None:
    try:
        data = json.loads((store / "links" / f"{key}.json").read_text(encoding="utf-8"))
        download = Download.from_dict(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("%s: unreadable download record, fetching again (%s)", mask(link), exc)
        return None
    path = store / "files" / download.stored_as
    if not path.is_file():
        return None
    if path.stat().st_size != download.size_bytes or file_sha256(path) != download.sha256:
        raise PipelineError(
            mask(link),
            f"the stored file {path} no longer has the SHA-256 recorded when it was "
            "downloaded; delete it to download the link again",
        )
    return path, download


def _download(link: str, store: Path, key: str, options: FetchOptions) -> tuple[Path, Download]:
    created = _make_dirs(store)
    work = Path(tempfile.mkdtemp(prefix=".download-", dir=store))
    try:
        info, file = _run_yt_dlp(link, work, options)
        sha256 = file_sha256(file)
        ext = _extension(file)
        download = _record(link, info, file, sha256, key, ext)
        files = store / "files"
        files.mkdir(exist_ok=True)
        stored = files / download.stored_as
        if not stored.is_file():  # the same bytes may have come from another link
            os.chmod(file, 0o444)  # evidence: not to be edited in place
            os.replace(file, stored)
        atomic_write_text(files / download.info_json, _info_json(info))
        (store / "links").mkdir(exist_ok=True)
        atomic_write_text(
            store / "links" / f"{key}.json",
            json.dumps(asdict(download), ensure_ascii=False, indent=1) + "\n",
        )
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        _remove_if_empty(created)
        raise
    shutil.rmtree(work, ignore_errors=True)
    log.info("stored %s (%d bytes, SHA-256 %s)", stored, download.size_bytes, sha256)
    return stored, download


class _TooLarge(Exception):
    pass


class _Quiet:
    """yt-dlp's messages go to the debug log: the user sees one line, ours."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = warning = error = debug


def _run_yt_dlp(link: str, folder: Path, options: FetchOptions) -> tuple[dict[str, Any], Path]:
    import yt_dlp

    limit = round(options.max_size_mb * 1e6)

    def stop_when_too_large(status: dict[str, Any]) -> None:
        size = max(status.get("downloaded_bytes") or 0, status.get("total_bytes") or 0)
        if size > limit:
            raise _TooLarge(size)

    params = {
        "format": options.format,
        "paths": {"home": str(folder), "temp": str(folder)},
        "outtmpl": {"default": "download.%(ext)s"},  # nothing from the site in the name
        "logger": _Quiet(),
        "noprogress": True,
        "progress_hooks": [stop_when_too_large],
        "noplaylist": True,
        "socket_timeout": options.timeout,
        "retries": options.retries,
        "fragment_retries": options.retries,
        "extractor_retries": options.retries,
        "cookiefile": options.cookies,
        "usenetrc": False,
        "cachedir": False,
        "updatetime": False,
    }
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = _one_video(link, ydl.extract_info(link, download=False))
            _check_before_download(link, info, limit)
            info = ydl.process_ie_result(info, download=True)
            info = ydl.sanitize_info(info)
    except _TooLarge as exc:
        raise PipelineError(mask(link), _too_large(exc.args[0], options)) from None
    except (yt_dlp.utils.YoutubeDLError, OSError) as exc:
        raise PipelineError(mask(link), _problem(str(exc), options)) from None
    downloads = info.get("requested_downloads") or [{}]
    file = Path(downloads[0].get("filepath") or folder / "missing")
    if not file.is_file():
        raise PipelineError(mask(link), "yt-dlp finished without a file")
    if file.stat().st_size > limit:
        raise PipelineError(mask(link), _too_large(file.stat().st_size, options))
    return info, file


def _one_video(link: str, info: dict[str, Any]) -> dict[str, Any]:
    if info.get("_type") in ("playlist", "multi_video"):
        entries = [entry for entry in info.get("entries") or [] if entry]
        if len(entries) != 1:
            raise PipelineError(
                mask(link),
                f"the page holds {len(entries)} videos: give the link of the one to transcribe",
            )
        return entries[0]
    return info


def _check_before_download(link: str, info: dict[str, Any], limit: int) -> None:
    if info.get("is_live"):
        raise PipelineError(mask(link), "a live stream: only finished videos can be fetched")
    for chosen in info.get("requested_formats") or [info]:
        if urlsplit(chosen.get("url", "")).scheme not in _ALLOWED_SCHEMES:
            raise PipelineError(mask(link), "the media is not served over http or https")
    size = info.get("filesize") or info.get("filesize_approx") or 0
    if size > limit:
        raise _TooLarge(size)


def _too_large(size: int, options: FetchOptions) -> str:
    return (
        f"larger than the {options.max_size_mb:g} MB limit (at least {size / 1e6:.1f} MB; "
        "fetch.max_size_mb)"
    )


# yt-dlp's messages, as one line a user can act on.
_PROBLEMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Unsupported URL"), "no video found at this address"),
    (re.compile(r"HTTP Error (\d{3}): ([^(]*)"), "the server answered HTTP {0} {1}"),
    (
        re.compile(r"(\d+) bytes read, (\d+) more expected"),
        "the download stopped halfway ({0} bytes read, {1} more expected; fetch.retries {retries})",
    ),
    (
        re.compile(r"timed out"),
        "no answer within {timeout:g} s (fetch.timeout; fetch.retries {retries})",
    ),
    (re.compile(r"Connection refused"), "connection refused: no network, or no server there"),
    (
        re.compile(r"Failed to resolve|Name or service not known|name resolution"),
        "cannot resolve the host name: no network?",
    ),
]


def _problem(message: str, options: FetchOptions) -> str:
    for pattern, problem in _PROBLEMS:
        found = pattern.search(message)
        if found:
            groups = [group.strip() for group in found.groups()]
            return problem.format(*groups, retries=options.retries, timeout=options.timeout)
    text = re.sub(r"\s*\(caused by .*$", "", " ".join(message.split()))
    text = re.sub(r"^ERROR:\s*", "", text)
    return re.sub(r"^\[[\w:]+\]\s*([^:]*:\s*)?", "", text) or "download failed"


def _record(
    link: str, info: dict[str, Any], file: Path, sha256: str, key: str, ext: str
) -> Download:
    from yt_dlp.version import __version__ as yt_dlp_version

    media_url = (info.get("requested_downloads") or [{}])[0].get("url") or info.get("url", "")
    return Download(
        url=mask(link),
        final_url=mask(info.get("webpage_url") or link),
        media_url=mask(media_url),
        extractor=str(info.get("extractor") or "unknown"),
        media_id=_text(info.get("id")),
        title=_text(info.get("title")),
        uploader=_text(info.get("uploader") or info.get("channel")),
        upload_date=_date(info.get("upload_date")),
        downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        yt_dlp_version=yt_dlp_version,
        format=str(info.get("format") or info.get("format_id") or "unknown"),
        size_bytes=file.stat().st_size,
        sha256=sha256,
        stored_as=f"{sha256}.{ext}",
        info_json=f"{sha256}.{key[:16]}.info.json",
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _date(value: Any) -> str | None:
    text = str(value or "")
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if re.fullmatch(r"\d{8}", text) else None


def _extension(file: Path) -> str:
    ext = file.suffix.lstrip(".").lower()
    return ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else "media"


def _info_json(info: dict[str, Any]) -> str:
    return json.dumps(_without_secrets(info), ensure_ascii=False, indent=1) + "\n"


def _without_secrets(value: Any) -> Any:
    """yt-dlp's info less the cookies and credentials sent: the info JSON is shared evidence."""
    if isinstance(value, dict):
        return {
            k: _without_secrets(v) for k, v in value.items() if str(k).lower() not in _PRIVATE_KEYS
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _make_dirs(path: Path) -> list[Path]:
    """Create `path`; the folders that did not exist, deepest first."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
