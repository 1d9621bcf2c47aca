"""Labelled datasets for `python -m pipeline eval`: which media file has which references.

Two layouts are read (README, "Evaluation"):

- **media + references by stem**: `X.mp4` (any media suffix) with, where present, `X.rttm`
  (who speaks when), `X.uem` (the scored stretch), `X.tsv` (columns start, end, speaker, ru,
  en: what is said, when, by whom, and its English), `X.txt` or `X.ru.txt` (what is said, whole
  file) and `X.en.txt` (its English, whole file). References on another timeline than the
  container's are named after the media's suffix: `X.wavtime.rttm` belongs to `X.wav` and wins
  over `X.rttm` there. An `.rttm` or `.uem` whose name matches no media file is shared: its
  lines are split by file id (uri) and go to the media file whose stem is that uri, or that uri
  with a suffix after `_` (`aepyx_8k.wav` takes the lines of uri `aepyx`).
- **manifest.tsv**: one row per file, columns `id`, `audio` (path relative to the folder) and,
  optionally, `ref_ru` (what is said) and `ref_en` (its English).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.evaluation.metrics import read_rttm, read_rttm_by_uri, read_uem_by_uri
from pipeline.stages.audio import MEDIA_EXTENSIONS
from pipeline.types import SpeakerTurn

MANIFEST = "manifest.tsv"
TSV_COLUMNS = ("start", "end", "speaker", "ru")


@dataclass
class ReferenceRow:
    """One reference utterance from a TSV: when, who, what, and its English."""

    start: float
    end: float
    speaker: str
    text: str
    translation: str | None = None


@dataclass
class EvalItem:
    """One media file and whatever references it has (None: that reference is absent)."""

    id: str
    media: Path
    turns: list[SpeakerTurn] | None = None  # from the RTTM, else from the TSV rows
    uem: list[tuple[float, float]] | None = None
    rows: list[ReferenceRow] | None = None
    text: str | None = None  # what is said, the whole file
    translation: str | None = None  # its English, the whole file
    sources: list[str] = field(default_factory=list)  # reference files used, for the report


def load_dataset(folder: Path, limit: int | None = None) -> list[EvalItem]:
    """The dataset's files in name order (the first `limit` of them)."""
    if not folder.is_dir():
        raise PipelineError(str(folder), "dataset folder not found")
    manifest = folder / MANIFEST
    items = read_manifest(manifest) if manifest.is_file() else read_folder(folder)
    if not items:
        raise PipelineError(
            str(folder), f"no media files (mp4, wav, ...) and no {MANIFEST}: nothing to evaluate"
        )
    return items[:limit] if limit else items


def read_folder(folder: Path) -> list[EvalItem]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    media = [p for p in files if p.suffix.lower().lstrip(".") in MEDIA_EXTENSIONS]
    owned: set[Path] = set()
    items = []
    for path in media:
        item, used = _item_with_own_references(path, folder)
        owned.update(used)
        items.append(item)
    shared_rttm = [p for p in files if p.suffix == ".rttm" and p not in owned]
    shared_uem = [p for p in files if p.suffix == ".uem" and p not in owned]
    for item in items:
        _add_shared_references(item, shared_rttm, shared_uem)
    return items


def _item_with_own_references(media: Path, folder: Path) -> tuple[EvalItem, set[Path]]:
    item = EvalItem(id=media.name, media=media)
    used: set[Path] = set()
    for prefix in _reference_prefixes(media):
        rttm = folder / f"{prefix}.rttm"
        if item.turns is None and rttm.is_file():
            item.turns = read_rttm(rttm)
            used.add(rttm)
        uem = folder / f"{prefix}.uem"
        if item.uem is None and uem.is_file():
            item.uem = [span for spans in read_uem_by_uri(uem).values() for span in spans]
            used.add(uem)
        tsv = folder / f"{prefix}.tsv"
        if item.rows is None and tsv.is_file():
            item.rows = read_reference_tsv(tsv)
            used.add(tsv)
        for name in (f"{prefix}.txt", f"{prefix}.ru.txt"):
            if item.text is None and (folder / name).is_file():
                item.text = _read_text(folder / name)
                used.add(folder / name)
        if item.translation is None and (folder / f"{prefix}.en.txt").is_file():
            item.translation = _read_text(folder / f"{prefix}.en.txt")
            used.add(folder / f"{prefix}.en.txt")
    if item.rows is not None:
        if item.turns is None:
            item.turns = [SpeakerTurn(r.start, r.end, r.speaker) for r in item.rows]
        if item.text is None:
            item.text = " ".join(r.text for r in sorted(item.rows, key=lambda r: r.start))
    item.sources = sorted(p.name for p in used)
    return item, used


def _reference_prefixes(media: Path) -> list[str]:
    """`X.wavtime` (references on the WAV's own timeline) before plain `X`."""
    return [f"{media.stem}.{media.suffix.lstrip('.').lower()}time", media.stem]


def _add_shared_references(item: EvalItem, rttms: list[Path], uems: list[Path]) -> None:
    for rttm in rttms:
        if item.turns is None:
            item.turns = _for_media(read_rttm_by_uri(rttm), item.media)
            if item.turns is not None:
                item.sources.append(rttm.name)
    for uem in uems:
        if item.uem is None:
            item.uem = _for_media(read_uem_by_uri(uem), item.media)
            if item.uem is not None:
                item.sources.append(uem.name)


def _for_media(by_uri: dict[str, list[Any]], media: Path) -> list[Any] | None:
    if media.stem in by_uri:
        return by_uri[media.stem]
    for uri, values in by_uri.items():
        if media.stem.startswith(uri + "_"):
            return values
    return None


def read_reference_tsv(path: Path) -> list[ReferenceRow]:
    """Rows of `start end speaker ru [en]`, tab-separated, with a header line."""
    table = _read_table(path, TSV_COLUMNS)
    rows = []
    for number, row in table:
        try:
            start, end = float(row["start"]), float(row["end"])
        except ValueError:
            raise PipelineError(str(path), f"line {number}: start/end must be numbers") from None
        if end < start:
            raise PipelineError(str(path), f"line {number}: end {end} is before start {start}")
        rows.append(ReferenceRow(start, end, row["speaker"], row["ru"], row.get("en") or None))
    return rows


def read_manifest(path: Path) -> list[EvalItem]:
    """`manifest.tsv`: id, audio and optionally ref_ru and ref_en, one row per file."""
    items = []
    for number, row in _read_table(path, ("id", "audio")):
        media = path.parent / row["audio"]
        if not media.is_file():
            raise PipelineError(str(path), f"line {number}: {row['audio']} not found")
        items.append(
            EvalItem(
                id=row["id"],
                media=media,
                text=row.get("ref_ru") or None,
                translation=row.get("ref_en") or None,
                sources=[path.name],
            )
        )
    return items


def _read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise PipelineError(str(path), f"missing column(s): {', '.join(missing)}")
            rows = list(enumerate(reader, start=2))
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(str(path), f"cannot read: {exc}") from None
    for number, row in rows:
        if any(row.get(column) is None for column in required):
            raise PipelineError(str(path), f"line {number}: fewer columns than the header")
    return rows


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(str(path), f"cannot read: {exc}") from None
