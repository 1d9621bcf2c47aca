"""Output files: SRT, WebVTT, JSON, RTTM and TSV, each checked and written atomically.

Everything is rendered in memory and parsed back before the first file is
touched, so a failure leaves the output folder as it was; each file then
appears whole or not at all (temporary file, fsync, rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import srt
import webvtt

from pipeline.publish.page import render_page
from pipeline.stages.subtitles import displayed_lines
from pipeline.types import Cue, Transcript


def render_srt(cues: list[Cue], names: dict[str, str] | None = None) -> str:
    """SRT; with `names`, each cue starts with `[Name]: ` (as WhisperX does)."""
    subtitles = [
        srt.Subtitle(
            index=i,
            start=_delta(cue.start),
            end=_delta(cue.end),
            content=_safe("\n".join(displayed_lines(cue, names))),
        )
        for i, cue in enumerate(cues, start=1)
    ]
    text = srt.compose(subtitles, reindex=False)
    list(srt.parse(text))  # raises if what we wrote is not SRT
    return text


def render_vtt(cues: list[Cue], names: dict[str, str] | None = None, name_text: bool = True) -> str:
    """WebVTT; with `names`, each cue carries a `<v Name>` voice tag.

    Browsers and ffmpeg show no `<v>` name, so with `name_text` the name is also
    written as text, `[Name]: `, as in the SRT.
    """
    document = webvtt.WebVTT(
        captions=[
            webvtt.Caption(
                start=_vtt_time(cue.start),
                end=_vtt_time(cue.end),
                text=_safe(_vtt_text(cue, names, name_text)),
            )
            for cue in cues
        ]
    )
    text = document.content
    if len(webvtt.from_string(text).captions) != len(cues):
        raise ValueError("WebVTT writer lost cues")
    return text


def render_tsv(transcript: Transcript, target: str | None) -> str:
    """One row per sentence: start, end, speaker, spoken text, translation.

    The columns are named after the languages (`ru`, `en`); tabs and line breaks
    inside text become spaces, so every row is one line of five fields.
    """
    names = transcript.speakers
    header = ["start", "end", "speaker", transcript.language, target or "translation"]
    rows = [header]
    for sentence in transcript.sentences:
        speaker = names.get(sentence.speaker, sentence.speaker) if sentence.speaker else ""
        rows.append(
            [
                f"{sentence.start:.3f}",
                f"{sentence.end:.3f}",
                speaker,
                sentence.text,
                sentence.translation or "",
            ]
        )
    text = "".join("\t".join(" ".join(field.split()) for field in row) + "\n" for row in rows)
    if any(len(line.split("\t")) != len(header) for line in text.splitlines()):
        raise ValueError("TSV writer made a malformed row")
    return text


def render_json(transcript: Transcript) -> str:
    text = json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    Transcript.from_dict(json.loads(text))
    return text


def render_rttm(transcript: Transcript, uri: str) -> str:
    """The speaker turns, overlaps kept, in the standard 10-field RTTM format."""
    uri = "_".join(uri.split()) or "clip"  # RTTM fields are separated by spaces
    lines = [
        f"SPEAKER {uri} 1 {turn.start:.3f} {turn.end - turn.start:.3f} <NA> <NA> "
        f"{turn.speaker} <NA> <NA>"
        for turn in transcript.turns
    ]
    text = "".join(line + "\n" for line in lines)
    if any(len(line.split()) != 10 for line in lines):
        raise ValueError("RTTM writer made a malformed line")
    return text


def write_outputs(
    transcript: Transcript,
    clip: Path,
    out_dir: Path,
    formats: list[str],
    speaker_prefix: bool = True,
    vtt_name_text: bool = True,
    media: Path | None = None,
) -> list[Path]:
    """Render every requested file, then write each one atomically.

    Subtitles come per cue language: `<clip>.ru.srt`, `<clip>.en.vtt`, ... and the
    bilingual `<clip>.ru-en.srt` (SRT only: it is meant for players). The page plays
    `media` (default: `clip`), by its path relative to `out_dir`.
    """
    names = transcript.speakers if speaker_prefix and transcript.speakers else None
    stem = clip.stem
    rendered: dict[Path, str] = {}
    for language, cues in transcript.cues.items():
        if "srt" in formats:
            rendered[out_dir / f"{stem}.{language}.srt"] = render_srt(cues, names)
        if "vtt" in formats and "-" not in language:
            rendered[out_dir / f"{stem}.{language}.vtt"] = render_vtt(cues, names, vtt_name_text)
    if "json" in formats:
        rendered[out_dir / f"{stem}.json"] = render_json(transcript)
    if "rttm" in formats:
        rendered[out_dir / f"{stem}.rttm"] = render_rttm(transcript, stem)
    if "tsv" in formats:
        target = next((lang for lang in transcript.cues if lang != transcript.language), None)
        if target and "-" in target:
            target = None
        rendered[out_dir / f"{stem}.tsv"] = render_tsv(transcript, target)
    if "html" in formats:
        rendered[out_dir / f"{stem}.html"] = render_page(transcript, clip, out_dir, media)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in rendered.items():
        atomic_write_text(path, text)
    return list(rendered)


def atomic_write_text(path: Path, text: str) -> None:
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed into place, not closed-and-deleted
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # temporary files start private; outputs are to share
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _vtt_text(cue: Cue, names: dict[str, str] | None, name_text: bool) -> str:
    """Cue text with a `<v Name>` voice span per speaker (players strip the tags)."""
    shown = displayed_lines(cue, names) if name_text else cue.lines
    lines = [_vtt_escape(line) for line in shown]
    if not names:
        return "\n".join(lines)
    if cue.line_speakers is None:
        return _voice(cue.speaker, names) + "\n".join(lines)
    return "\n".join(
        _voice(speaker, names) + line
        for line, speaker in zip(lines, cue.line_speakers, strict=True)
    )


def _voice(speaker: str | None, names: dict[str, str]) -> str:
    if speaker is None:
        return ""
    return f"<v {_vtt_escape(names.get(speaker, speaker)).replace('>', '&gt;')}>"


def _vtt_escape(text: str) -> str:
    # In WebVTT cue text "<" opens a tag and "&" an entity: a name like "A&B" must stay text.
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _safe(text: str) -> str:
    # "-->" inside a cue would end it early in both formats.
    return text.replace("-->", "->")


def _delta(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(max(seconds, 0.0) * 1000))


def _vtt_time(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"
