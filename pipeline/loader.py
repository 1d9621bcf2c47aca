"""Read our outputs back: `pipeline.load(path)` for researchers' own tools.

The JSON gives the whole transcript. An SRT (ours or anyone's) gives its cues:
speaker names are read from a leading `[Name]: `, dialogue cues from lines led
by "-", the language from a `.ru.srt`-style name; each cue becomes a sentence
so that `to_dataframe()` works the same on both.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import srt

from pipeline.errors import PipelineError
from pipeline.types import SCHEMA_VERSION, Cue, Sentence, SourceInfo, Transcript

_NAME = re.compile(r"^\[(?P<name>[^\]]+)\]:\s*")


def load(path: str | Path) -> Transcript:
    """The transcript in our JSON (`<clip>.json`) or the cues of any SRT file."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(str(path), "no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(str(path), f"cannot be read as UTF-8 text ({exc})") from None
    if path.suffix.lower() == ".json":
        return _from_json(path, text)
    if path.suffix.lower() == ".srt":
        return _from_srt(path, text)
    raise PipelineError(str(path), "not a transcript: expected our .json or an .srt file")


def _from_json(path: Path, text: str) -> Transcript:
    try:
        data = json.loads(text)
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise PipelineError(
                str(path), f"schema version {version or '?'}; this reader knows {SCHEMA_VERSION}"
            )
        return Transcript.from_dict(data)
    except PipelineError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PipelineError(str(path), f"not a transcript JSON ({exc})") from None


def _from_srt(path: Path, text: str) -> Transcript:
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        raise PipelineError(str(path), f"not a valid SRT file ({exc})") from None
    language = _language_from_name(path)
    cues = [_cue(subtitle) for subtitle in subtitles]
    sentences = []
    for cue in cues:
        for line, speaker in _spoken_lines(cue):
            sentences.append(Sentence(len(sentences), cue.start, cue.end, speaker, line, 0, 0))
        if not cue.is_dialogue:
            cue.sentence_id = len(sentences) - 1
    speakers = sorted({s.speaker for s in sentences if s.speaker})
    return Transcript(
        source=_srt_source(path, cues),
        language=language,
        speakers={name: name for name in speakers},
        sentences=sentences,
        cues={language: cues},
        notes=[f"read from the subtitle file {path.name}: cues only, no word times"],
    )


def _cue(subtitle: srt.Subtitle) -> Cue:
    lines = subtitle.content.splitlines() or [""]
    start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
    if len(lines) > 1 and all(line.startswith("-") for line in lines):
        speakers, texts = zip(*(_split_name(line[1:]) for line in lines), strict=True)
        return Cue(start, end, [f"-{t}" for t in texts], None, line_speakers=list(speakers))
    speaker, first = _split_name(lines[0])
    return Cue(start, end, [first, *lines[1:]], speaker)


def _split_name(line: str) -> tuple[str | None, str]:
    match = _NAME.match(line)
    if match is None:
        return None, line
    return match["name"], line[match.end() :]


def _spoken_lines(cue: Cue) -> list[tuple[str, str | None]]:
    if cue.line_speakers is None:
        return [(" ".join(cue.lines), cue.speaker)]
    return [(line[1:], speaker) for line, speaker in zip(cue.lines, cue.line_speakers, strict=True)]


def _language_from_name(path: Path) -> str:
    suffixes = path.name.split(".")[1:-1]
    return suffixes[-1] if suffixes else "und"


def _srt_source(path: Path, cues: list[Cue]) -> SourceInfo:
    return SourceInfo(
        name=path.name,
        sha256="",
        size_bytes=path.stat().st_size,
        container="srt",
        duration=max((cue.end for cue in cues), default=0.0),
        audio_stream_index=-1,
        audio_codec="",
        audio_language=None,
        audio_offset=0.0,
        sample_rate=0,
    )
