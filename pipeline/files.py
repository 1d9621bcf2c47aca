"""Files the pipeline writes or fingerprints: content hashes and all-or-nothing writes.

Outputs, cache entries, manifests and download records are all written through
`write_set`: each file appears whole or not at all, and a set of files together.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

# Temporary names stay short whatever the output's name, so a long clip name
# cannot make them too long for the file system.
_TEMP_PREFIX, _TEMP_SUFFIX = ".es-", ".tmp"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_set(files: dict[Path, str]) -> None:
    """Write every file, or none: staged beside its target, then all renamed into place.

    A target that already exists is kept under a hard link until the whole set
    is in place, so a failed rename can put every old file back.
    """
    staged: dict[Path, str] = {}
    try:
        for path, text in files.items():
            staged[path] = _stage(path, text)
        _move_into_place(staged)
    finally:
        for temporary in staged.values():
            Path(temporary).unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    write_set({path: text})


def _stage(path: Path, text: str) -> str:
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed into place, not closed-and-deleted
        "w",
        encoding="utf-8",
        dir=path.parent,
        prefix=_TEMP_PREFIX,
        suffix=_TEMP_SUFFIX,
        delete=False,
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # temporary files start private; outputs are to share
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return handle.name


def _move_into_place(staged: dict[Path, str]) -> None:
    backups: dict[Path, str | None] = {}  # target -> hard link to its old version, if any
    try:
        for path, temporary in staged.items():
            backups[path] = _keep_old(path)
            os.replace(temporary, path)
    except BaseException:
        for path, backup in backups.items():
            if backup is not None:
                os.replace(backup, path)
            elif not os.path.exists(staged[path]):  # moved in, and nothing was there before
                Path(path).unlink(missing_ok=True)
        raise
    finally:
        for backup in backups.values():
            if backup is not None:
                Path(backup).unlink(missing_ok=True)


def _keep_old(path: Path) -> str | None:
    if not path.is_file():
        return None
    # os.link fails rather than follow a name taken meanwhile, so mktemp is safe here.
    backup = tempfile.mktemp(prefix=_TEMP_PREFIX, suffix=".old", dir=path.parent)
    try:
        os.link(path, backup)
    except OSError:  # a file system without hard links
        shutil.copy2(path, backup)
    return backup
