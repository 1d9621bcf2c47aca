"""Output files: SRT, WebVTT, JSON, RTTM and TSV, each checked and written atomically.

Everything is rendered in memory and parsed back before the first file is
touched. The files are then written as one set: each to a temporary file
(fsync), and only when all are ready are they renamed into place; if one
rename fails, those already moved are put back, so the folder holds either the
whole new set or the old files as they were.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import srt
import webvtt

from pipeline.display import displayed_lines
from pipeline.errors import PipelineError
from pipeline.files import write_set
from pipeline.publish.page import render_page
from pipeline.types import Cue, Transcript

# What the longest output name adds to the clip's stem: ".ru-en.srt" and a margin.
LONGEST_SUFFIX = ".xx-xx.srt"


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


def render_vtt(
    cues: list[Cue],
    names: dict[str, str] | None = None,
    label: str | None = None,
    checks: dict[int, list[str]] | None = None,
    name_text: bool = True,
) -> str:
    """WebVTT; with `names`, each cue carries a `<v Name>` voice tag.

    Browsers and ffmpeg show no `<v>` name, so with `name_text` the name is also
    written as text, `[Name]: `, as in the SRT. `label` (what made a translated
    track) opens the file as a NOTE block; the cues of a sentence in `checks`
    (sentence id -> failed checks) are wrapped in `<c.check>` and preceded by a NOTE
    naming the checks. Players show neither.
    """
    checks = checks or {}
    captions = []
    for cue in cues:
        caption = webvtt.Caption(
            start=_vtt_time(cue.start),
            end=_vtt_time(cue.end),
            text=_safe(_vtt_text(cue, names, set(checks), name_text)),
        )
        failed = [c for sid in _sentence_ids(cue) for c in checks.get(sid, [])]
        if failed:
            caption.comments = [_safe("check: " + "; ".join(failed))]
        captions.append(caption)
    document = webvtt.WebVTT(captions=captions, header_comments=[_safe(label)] if label else [])
    text = document.content
    if len(webvtt.from_string(text).captions) != len(cues):
        raise ValueError("WebVTT writer lost cues")
    return text


def translation_label(transcript: Transcript) -> str | None:
    """What the English is and who made it, for the files that carry it."""
    engine = next((m.name for m in transcript.models if m.role == "translation"), None)
    if engine is None:
        return None
    english = [s for s in transcript.sentences if s.checks is not None]
    flagged = sum(bool(s.checks) for s in english)
    return (
        f"English: machine translation by {engine}, not checked by a person. "
        f"{flagged} of {len(english)} English sentences failed an automatic check "
        "(numbers, negation, names, misheard words, fragments, length, confidence, "
        "repetition): verify them against the Russian. They are listed in the JSON's "
        "sentences[].checks."
    )


def _sentence_ids(cue: Cue) -> list[int]:
    ids = cue.line_sentence_ids if cue.is_dialogue else [cue.sentence_id]
    return list(dict.fromkeys(sid for sid in ids or [] if sid is not None))


def render_tsv(transcript: Transcript, target: str | None) -> str:
    """One row per sentence: start, end, speaker, spoken text, translation.

    The columns are named after the languages (`ru`, `en`); tabs and line breaks
    inside text become spaces, so every row is one line of five fields. With a
    translation, a first line starting with `#` says what made it, and a sixth
    column, `checks`, lists the checks each English sentence failed (`; `-separated).
    """
    names = transcript.speakers
    label = translation_label(transcript) if target else None
    header = ["start", "end", "speaker", transcript.language, target or "translation"]
    header += ["checks"] if label else []
    rows = [header]
    for sentence in transcript.sentences:
        speaker = names.get(sentence.speaker, sentence.speaker) if sentence.speaker else ""
        row = [
            f"{sentence.start:.3f}",
            f"{sentence.end:.3f}",
            speaker,
            sentence.text,
            sentence.translation or "",
        ]
        rows.append(row + (["; ".join(sentence.checks or [])] if label else []))
    text = "".join("\t".join(" ".join(field.split()) for field in row) + "\n" for row in rows)
    if any(len(line.split("\t")) != len(header) for line in text.splitlines()):
        raise ValueError("TSV writer made a malformed row")
    return (f"# {' '.join(label.split())}\n" if label else "") + text


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
    label = translation_label(transcript)
    checks = {s.id: s.checks for s in transcript.sentences if s.checks}
    for language, cues in transcript.cues.items():
        if "srt" in formats:
            rendered[out_dir / f"{stem}.{language}.srt"] = render_srt(cues, names)
        if "vtt" in formats and "-" not in language:
            translated = language != transcript.language
            rendered[out_dir / f"{stem}.{language}.vtt"] = (
                render_vtt(cues, names, label, checks, vtt_name_text)
                if translated
                else render_vtt(cues, names, name_text=vtt_name_text)
            )
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
    _refuse_to_overwrite(clip, rendered)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_set(rendered)
    except OSError as exc:
        raise PipelineError(str(out_dir), f"cannot write the outputs: {_reason(exc)}") from None
    return list(rendered)


def output_pattern(stem: str) -> re.Pattern[str]:
    """Every name `write_outputs` may give a clip's files: `<stem>.json`, `<stem>.ru.srt`, ..."""
    return re.compile(re.escape(stem) + r"(\.[\w-]+\.(srt|vtt|mp4)|\.(json|rttm|tsv|html))")


def _refuse_to_overwrite(clip: Path, rendered: dict[Path, str]) -> None:
    """The input is evidence: no output may replace it, whatever it is named."""
    for path in rendered:
        if path.exists() and clip.exists() and os.path.samefile(path, clip):
            raise PipelineError(str(clip), f"refusing to overwrite the input with {path.name}")


def _reason(exc: OSError) -> str:
    where = f" ({Path(exc.filename).name})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _vtt_text(cue: Cue, names: dict[str, str] | None, flagged: set[int], name_text: bool) -> str:
    """Cue text with a `<v Name>` voice span per speaker (players strip the tags), and
    the text of a sentence that failed a check inside `<c.check>`."""
    shown = [
        _vtt_escape(line) for line in (displayed_lines(cue, names) if name_text else cue.lines)
    ]
    if cue.line_speakers is None:
        return _voice(cue.speaker, names) + _mark("\n".join(shown), cue.sentence_id in flagged)
    sentence_ids = cue.line_sentence_ids or [None] * len(cue.lines)
    return "\n".join(
        _voice(speaker, names) + _mark(line, sentence_id in flagged)
        for line, speaker, sentence_id in zip(shown, cue.line_speakers, sentence_ids, strict=True)
    )


def _mark(text: str, flagged: bool) -> str:
    return f"<c.check>{text}</c>" if flagged else text


def _voice(speaker: str | None, names: dict[str, str] | None) -> str:
    if speaker is None or not names:
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
