"""Which files under a folder are clips: probed with ffprobe, local files only.

A file with an audio stream is a clip, whatever its name. A file ffprobe cannot
read, or one without audio, is a *failed* clip when its extension says it should
be media and is *skipped* as not media otherwise (`notes.txt`, a photo).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from tqdm import tqdm

from pipeline.batch.records import (
    ClipResult,
    ClipTask,
    as_float,
    now,
)
from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.stages.audio import MEDIA_EXTENSIONS, choose_audio_stream, probe
from pipeline.stages.fetch import fetch, output_name, store_path

if TYPE_CHECKING:
    pass


log = logging.getLogger("pipeline")


PROBE_THREADS = 4


def discover(
    folder: Path, out: Path, config: Config, quiet: bool = True
) -> tuple[list[ClipTask], list[ClipResult]]:
    """Every clip under `folder`, and a result for each file that is not one."""
    folder, out = folder.resolve(), out.resolve()
    files = sorted(_walk(folder, out), key=lambda p: p.relative_to(folder).as_posix())
    bar = tqdm(total=len(files), desc="probing", unit="file", disable=quiet, leave=False)
    with ThreadPoolExecutor(PROBE_THREADS) as pool:
        found = []
        for item in pool.map(lambda p: _classify(p, folder, out, config), files):
            found.append(item)
            bar.update()
    bar.close()
    tasks = [item for item in found if isinstance(item, ClipTask)]
    results = [item for item in found if isinstance(item, ClipResult)]
    return _drop_collisions(tasks, results)


def discover_links(
    list_file: Path, out: Path, config: Config, quiet: bool = True
) -> tuple[list[ClipTask], list[ClipResult]]:
    """Every link of `list_file` fetched into the store (once); a failed result for each
    link that cannot be. Runs here, so a cluster's workers read only the stored files."""
    store = store_path(config.fetch, out.resolve())
    tasks: dict[str, ClipTask] = {}  # by stored file
    results = []
    for link in tqdm(read_links(list_file), desc="fetching", unit="link", disable=quiet):
        try:
            path, download = fetch(link, store, config.fetch)
        except PipelineError as exc:
            results.append(
                ClipResult(
                    exc.subject, "failed", error=exc.problem, finished_at=now(), url=exc.subject
                )
            )
            continue
        if str(path) in tasks:
            same = tasks[str(path)]
            note = f"the same file as {same.download.url}: transcribed as {same.rel}"
            results.append(ClipResult(download.url, "skipped", note=note, url=download.url))
            continue
        rel = output_name(download) + path.suffix
        tasks[str(path)] = ClipTask(str(path), rel, str(out), str(out), _duration(path), download)
    return _drop_collisions(list(tasks.values()), results)


def read_links(list_file: Path) -> list[str]:
    """The links in a text file: one a line, each once; blank lines and `# notes` skipped."""
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PipelineError(str(list_file), "not a folder or a text file of links") from None
    except OSError as exc:
        raise PipelineError(str(list_file), f"cannot read: {exc.strerror or exc}") from None
    links: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        link, _, note = line.strip().partition(" ")
        if not link or link.startswith("#"):
            continue
        if note.strip() and not note.strip().startswith("#"):
            raise PipelineError(
                f"{list_file}:{number}", "one link a line (a note after it starts with #)"
            )
        links[link] = None
    return list(links)


def _duration(path: Path) -> float | None:
    """For progress only: a file ffprobe cannot read fails later, with transcribe's message."""
    try:
        return as_float(probe(path).get("format", {}).get("duration"))
    except PipelineError:
        return None


def _walk(folder: Path, out: Path) -> Iterable[Path]:
    if not folder.is_dir():
        raise PipelineError(str(folder), "not a folder")
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        dirs[:] = [d for d in dirs if not d.startswith(".") and (here / d).resolve() != out]
        for name in names:
            path = here / name
            if not name.startswith(".") and path.is_file():
                yield path


def _classify(path: Path, folder: Path, out: Path, config: Config) -> ClipTask | ClipResult:
    rel = path.relative_to(folder).as_posix()
    looks_like_media = path.suffix.lower().lstrip(".") in MEDIA_EXTENSIONS

    def not_a_clip(problem: str) -> ClipResult:
        if looks_like_media:
            return ClipResult(rel, "failed", error=problem, finished_at=now())
        return ClipResult(rel, "skipped", note=f"not media: {problem}")

    try:
        if path.stat().st_size == 0:
            return not_a_clip("empty file (0 bytes)")
        info = probe(path)
        choose_audio_stream(path, info.get("streams", []), config.audio)
    except PipelineError as exc:
        return not_a_clip(exc.problem)
    except OSError as exc:
        return not_a_clip(f"cannot read: {exc.strerror or exc}")
    duration = as_float(info.get("format", {}).get("duration"))
    out_dir = out / PurePosixPath(rel).parent
    return ClipTask(str(path), rel, str(out_dir), str(out), duration)


def _drop_collisions(
    tasks: list[ClipTask], results: list[ClipResult]
) -> tuple[list[ClipTask], list[ClipResult]]:
    """`a/x.mp4` and `a/x.wav` would write the same `a/x.*` files: the second one fails."""
    kept: dict[tuple[str, str], ClipTask] = {}
    for task in tasks:
        name = (str(PurePosixPath(task.rel).parent), task.stem)
        if name in kept:
            other = kept[name].rel
            problem = f"its output files would overwrite those of {other}: rename one of them"
            results.append(ClipResult(task.rel, "failed", error=problem, finished_at=now()))
        else:
            kept[name] = task
    return list(kept.values()), results
