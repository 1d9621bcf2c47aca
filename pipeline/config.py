"""Options of every stage, read from YAML and the command line.

The field descriptions here are the documentation: `--help` lists them and
`configs/default.yaml` is generated from them (`python -m pipeline config`).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from pipeline.errors import PipelineError

KNOWN_HALLUCINATIONS = [
    "Субтитры сделал DimaTorzok",
    "Субтитры делал DimaTorzok",
    "Продолжение следует",
    "Редактор субтитров А.Синецкая",
    "Корректор А.Кулакова",
    "Спасибо за просмотр",
    "Субтитры создавал DimaTorzok",
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AudioOptions(Section):
    stream: int | None = Field(
        None,
        ge=0,
        description="Audio stream to use, counted from 0 among the audio streams only. "
        "Default: the stream marked default, else the first.",
    )
    language: str | None = Field(
        None,
        description="Use the first audio stream tagged with this language (e.g. rus). "
        "Ignored when `stream` is set.",
    )


class VadOptions(Section):
    enabled: bool = Field(
        True,
        description="Decode only the stretches Silero VAD marks as speech: this is what keeps "
        "Whisper from inventing text over silence, music and noise.",
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="Speech probability threshold.")
    min_speech: float = Field(0.25, ge=0, description="Shortest speech stretch kept, seconds.")
    min_silence: float = Field(
        0.3, ge=0, description="Silence needed to end a speech stretch, seconds."
    )
    padding: float = Field(
        0.2, ge=0, description="Seconds of context added on each side of a speech stretch."
    )
    merge_gap: float = Field(
        1.0,
        ge=0,
        description="Speech stretches closer than this are decoded together, seconds.",
    )
    max_chunk: float = Field(
        30.0,
        gt=1,
        le=30,
        description="Longest stretch decoded at once, seconds (Whisper's window is 30 s).",
    )


class AsrOptions(Section):
    model: str = Field(
        "base",
        description="Whisper model: a size name (tiny, base, small, medium, large-v1, large-v2, "
        "large-v3, turbo, and the .en variants) or a path to an openai-whisper .pt checkpoint. "
        "A name is looked up in openai-whisper's cache, then (base only) in the bundled "
        "offline copy, then downloaded if the network allows. A model that cannot be found "
        "is an error, never a silent switch to another model.",
    )
    language: str = Field(
        "ru", description="Language spoken, as a Whisper code (ru, en, uk, ...) or `auto`."
    )
    beam_size: int | None = Field(
        None,
        ge=1,
        description="Beam search width; empty for greedy decoding (fast on a CPU).",
    )
    best_of: int | None = Field(
        None, ge=1, description="Candidates sampled at non-zero temperature."
    )
    temperatures: list[float] = Field(
        [0.0, 0.2, 0.4],
        min_length=1,
        max_length=6,
        description="Temperature fallback: decode at the first; retry at the next when the text "
        "looks like a loop or is unlikely. Kept short so that bad audio cannot make it run away.",
    )
    compression_ratio_threshold: float | None = Field(
        2.4, description="Retry when the text compresses better than this (repetition)."
    )
    logprob_threshold: float | None = Field(
        -1.0, description="Retry when the average log-probability is below this."
    )
    no_speech_threshold: float | None = Field(
        0.6,
        description="Drop a window whose no-speech probability is above this and whose text "
        "is unlikely (below `logprob_threshold`).",
    )
    initial_prompt: str | None = Field(
        None,
        description="Text shown to Whisper before each stretch: sets style and spelling.",
    )
    glossary: list[str] = Field(
        [],
        description="Names and terms to spell right (e.g. Солдатов, Старобельск); added to "
        "the prompt.",
    )
    drop_phrases: list[str] = Field(
        KNOWN_HALLUCINATIONS,
        description="Segments consisting of one of these phrases are dropped: Whisper invents "
        "them over silence and music.",
    )
    max_repeats: int = Field(
        3,
        ge=1,
        description="A phrase of 1-4 words repeated more than this many times in a row is "
        "cut back to one (a decoding loop).",
    )


class DiarizationOptions(Section):
    enabled: bool = Field(True, description="Find who speaks when (pyannote.audio).")
    pipeline: Literal["auto", "offline", "community-1"] = Field(
        "auto",
        description="offline: pyannote segmentation-3.0 + CAM++ embeddings from the model "
        "cache, no network. community-1: pyannote/speaker-diarization-community-1 from "
        "Hugging Face (needs network and a token). auto: community-1 when a token is set, "
        "else offline. A pipeline that cannot load is an error, never a silent switch.",
    )
    hf_token: SecretStr | None = Field(
        None,
        description="Hugging Face token for community-1. Default: $HF_TOKEN. Prefer the "
        "environment to a config file.",
    )
    num_speakers: int | None = Field(
        None, ge=1, description="Exact number of speakers, when known."
    )
    min_speakers: int | None = Field(None, ge=1, description="At least this many speakers.")
    max_speakers: int | None = Field(None, ge=1, description="At most this many speakers.")
    threshold: float = Field(
        0.7,
        gt=0,
        lt=2,
        description="Offline clustering threshold (distance between unit-length CAM++ "
        "embeddings, centroid linkage): higher merges voices, so fewer speakers. 0.7 found "
        "the 4 voices of the ru_council dev meeting, clean and noisy (DER 3.2 % / 6.7 %), "
        "2 of 2 on pyannote's sample and 4 of 4 on a VoxConverse debate; 0.6-0.75 works on "
        "the clean meeting, only 0.7 on the noisy one. Set num_speakers when you know it.",
    )
    window: float | None = Field(
        5.0,
        gt=1,
        le=10,
        description="Offline segmentation window, seconds. 5 s keeps similar voices apart "
        "(with the model's own 10 s, two of the ru_council women merged); empty for 10 s.",
    )
    min_cluster_size: int = Field(
        12, ge=1, description="Offline: smallest cluster kept as a speaker, in chunks."
    )
    min_turn_words: int = Field(
        2,
        ge=1,
        description="A segment is split at a speaker change only when the new speaker has at "
        "least this many words in a row (or one word mostly inside their turn, see "
        "keep_share): one boundary word with loose timing does not flip on its own.",
    )
    keep_share: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A single word whose time lies at least this much inside another "
        "speaker's turn is kept with that speaker (a real one-word interjection).",
    )
    names: dict[str, str] = Field(
        {},
        description="Display names by label, e.g. {SPEAKER_00: Administrator}. Labels are "
        "numbered in order of first appearance.",
    )


class TranslateOptions(Section):
    engine: Literal["auto", "argos", "whisper", "none"] = Field(
        "auto",
        description="argos: an installed Argos Translate ru->en package (text MT, the better "
        "choice). whisper: Whisper's own translate task on each sentence's audio (real, but "
        "weak with the base model). none: Russian only. auto: argos when a ru->en package is "
        "installed, else whisper. The engine used is printed and written to the JSON; asking "
        "for argos without a package is an error, never a silent fallback.",
    )
    argos_package: str | None = Field(
        None,
        description="Path to a .argosmodel file to use (installed into the model cache on "
        "first use). Default: the packages installed by argospm or found in "
        "$ARGOS_PACKAGES_DIR.",
    )
    beam_size: int = Field(4, ge=1, le=16, description="Argos beam width.")
    batch_size: int = Field(16, ge=1, description="Sentences translated per Argos batch.")
    whisper_beam_size: int | None = Field(
        None, ge=1, description="Beam width for the whisper engine; empty for greedy."
    )


class OutputOptions(Section):
    formats: list[Literal["srt", "vtt", "json", "rttm", "tsv"]] = Field(
        ["srt", "vtt", "json", "rttm", "tsv"], min_length=1, description="Files to write."
    )
    speaker_prefix: bool = Field(
        True,
        description="Name the speaker in each cue: `[Name]: ` in SRT, `<v Name>` in WebVTT. "
        "The SRT name counts towards the line length.",
    )
    line_chars: dict[str, int] = Field(
        {"ru": 39, "en": 42, "default": 42},
        description="Longest subtitle line, characters, by language (Netflix: 42 English, "
        "39 Russian).",
    )
    max_lines: int = Field(2, ge=1, description="Most lines in one cue.")
    min_cue_duration: float = Field(
        round(5 / 6, 3), gt=0, description="Shortest time a cue stays on screen, seconds."
    )
    max_cue_duration: float = Field(7.0, gt=0, description="Longest time on screen, seconds.")
    reading_speed: float = Field(
        17.0,
        gt=0,
        description="Most characters per second a viewer is asked to read (20 for adult "
        "programmes); cues are lengthened into silence to meet it.",
    )
    frame_rate: float | None = Field(
        None,
        gt=0,
        description="Frame grid for cue times. Empty: the clip's own video frame rate, "
        "25 for audio-only input.",
    )
    min_gap_frames: int = Field(2, ge=0, description="Least gap between two cues, in frames.")
    close_gap_frames: int = Field(
        12, ge=0, description="Gaps of this many frames or fewer are closed to the least gap."
    )
    max_lead: float = Field(
        1.5, ge=0, description="Longest a cue may appear before its speech, seconds."
    )
    max_linger: float = Field(
        1.5, ge=0, description="Longest a cue may stay after its speech, seconds."
    )


class OverlapOptions(Section):
    enabled: bool = Field(
        True,
        description="Recover the words said underneath another voice: where the diarizer "
        "finds two speakers at once, decode each overlapped turn again on its own window and "
        "add what the transcript lacks, to that turn's speaker (JSON: `recovered`). Needs "
        "diarization.",
    )
    min_overlap: float = Field(
        0.3, ge=0, description="Shortest overlap of two speakers' turns that is re-decoded, s."
    )
    padding: float = Field(
        0.2, ge=0, description="Seconds added at each end of an overlapped turn's window."
    )
    min_words: int = Field(
        2,
        ge=1,
        description="Fewest new words in a row kept from a re-decoded turn: a lone new word is "
        "more often the same word heard differently than speech that was missed.",
    )
    min_probability: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Least mean Whisper word probability of a run of recovered words: below "
        "it the run is more often noise read as words than speech, and is left out.",
    )
    twin_similarity: float = Field(
        0.75,
        gt=0,
        le=1,
        description="A new word spelled at least this much like (difflib ratio) a word the "
        "transcript has within 1 s counts as that word, not as new.",
    )
    unsure_probability: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Recovered words below this Whisper word probability are marked `unsure`.",
    )
    unsure_logprob: float = Field(
        -1.0,
        description="Recovered words of a decode whose average log-probability is below this "
        "are marked `unsure`.",
    )


class RuntimeOptions(Section):
    threads: int = Field(
        1,
        ge=1,
        description="Torch threads. On 2 shared cores 1 thread was steadier than 2.",
    )
    parallel: bool = Field(
        True,
        description="Diarize on a second thread while Whisper recognises (each with `threads` "
        "torch threads). Turn off when every core is already busy, e.g. batch --workers 2 on "
        "2 cores.",
    )
    device: str = Field("cpu", description="Torch device: cpu, cuda, cuda:1, ...")
    cache_dir: str | None = Field(
        None,
        description="Where converted offline models live. Default: "
        "$EVIDENCE_SUBTITLES_CACHE, else ~/.cache/evidence-subtitles.",
    )


class Config(Section):
    audio: AudioOptions = AudioOptions()
    vad: VadOptions = VadOptions()
    asr: AsrOptions = AsrOptions()
    diarization: DiarizationOptions = DiarizationOptions()
    translate: TranslateOptions = TranslateOptions()
    output: OutputOptions = OutputOptions()
    overlap: OverlapOptions = OverlapOptions()
    runtime: RuntimeOptions = RuntimeOptions()


def model_cache_dir(configured: str | None = None) -> Path:
    """Where converted offline models live (outside the repository)."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("EVIDENCE_SUBTITLES_CACHE"):
        return Path(os.environ["EVIDENCE_SUBTITLES_CACHE"]).expanduser()
    return Path.home() / ".cache" / "evidence-subtitles"


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML file (if any), apply `section.key` overrides, validate everything."""
    data: dict[str, Any] = {}
    source = str(path) if path else "configuration"
    if path is not None:
        data = _read_yaml(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise PipelineError(source, _describe(exc)) from None


def parse_override(text: str) -> tuple[str, Any]:
    """`asr.beam_size=5` -> ("asr.beam_size", 5); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise PipelineError("--set", f"expected section.key=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(str(path), "config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(str(path), f"cannot read config: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PipelineError(str(path), f"invalid YAML: {_one_line(str(exc))}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PipelineError(str(path), "config must be a mapping of sections")
    return data


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise PipelineError("--set", f"{dotted}: {part} is not a section")
        node = child
    node[leaf] = value


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown option {where}"
    return f"{where}: {first['msg']} (got {first.get('input')!r})"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_options() -> list[tuple[str, Any, str]]:
    """Every option as (dotted key, default, description), in config order."""
    rows = []
    for section_name, section_field in Config.model_fields.items():
        section_type = section_field.annotation
        for key, option in section_type.model_fields.items():
            rows.append((f"{section_name}.{key}", option.default, option.description or ""))
    return rows


def render_default_yaml() -> str:
    """The default configuration as commented YAML (what `configs/default.yaml` holds)."""
    lines = [
        "# Default configuration. Every option, with what it does.",
        "# Generated by `python -m pipeline config`; a test keeps it in step with the code.",
        "# Override any value with --config FILE or --set section.key=value.",
    ]
    current = None
    for dotted, default, description in describe_options():
        section, key = dotted.split(".", 1)
        if section != current:
            lines += ["", f"{section}:"]
            current = section
        for text in _wrap(description, 90):
            lines.append(f"  # {text}")
        dumped = yaml.safe_dump(
            {key: default}, allow_unicode=True, default_flow_style=True, width=1000
        )
        lines.append("  " + dumped.strip().removeprefix("{").removesuffix("}"))
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]
