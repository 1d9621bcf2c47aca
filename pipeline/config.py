"""Options of every stage, read from YAML and the command line.

The field descriptions here are the documentation: `--help` lists them and
`configs/default.yaml` is generated from them (`python -m pipeline config`).
"""

from __future__ import annotations

import copy
import os
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.errors import PipelineError, one_line

KNOWN_HALLUCINATIONS = [
    "Субтитры сделал DimaTorzok",
    "Субтитры делал DimaTorzok",
    "Продолжение следует",
    "Редактор субтитров А.Синецкая",
    "Корректор А.Кулакова",
    "Спасибо за просмотр",
    "Субтитры создавал DimaTorzok",
    # Seen alone at the end of the ru_council dev meeting, over the last silence.
    "Спокойная музыка",
]


# Whisper's language codes (whisper.tokenizer.LANGUAGES; a test keeps them in step),
# listed here so that a bad code fails before torch or a model is loaded.
_WHISPER_CODES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue"
)
WHISPER_LANGUAGES = frozenset(_WHISPER_CODES.split())
# pyannote clusters into at most this many speakers here; more is a typo.
MAX_SPEAKERS = 64
# Cue times snap to a video's frames only at rates real video uses.
MIN_FRAME_RATE, MAX_FRAME_RATE = 10.0, 120.0


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
    allow_damaged: bool = Field(
        False,
        description="Transcribe damaged media (audio that decodes shorter than the container "
        "says, or with decoding errors) instead of failing: what decodes is transcribed, the "
        "damage and both durations are recorded in the JSON's `source` and the batch "
        "manifest, and a warning is printed.",
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
    engine: Literal["ctranslate2", "openai-whisper"] = Field(
        "ctranslate2",
        description="Whisper engine. ctranslate2: faster-whisper on CTranslate2, which loads "
        "the registry's CTranslate2 files as they are (recognition and English at beam 5 took "
        "less CPU time than openai-whisper's greedy recognition alone). openai-whisper: the "
        "reference PyTorch "
        "implementation (needs the converted .pt checkpoint). Both decode the same speech "
        "windows with the same filters and word times from the model's alignment heads.",
    )
    model: str = Field(
        "base",
        description="Whisper model: a size name (tiny, base, small, medium, large-v1, large-v2, "
        "large-v3, turbo, and the .en variants) or a path: an openai-whisper .pt checkpoint "
        "(engine openai-whisper) or a CTranslate2 Whisper folder (engine ctranslate2). A name "
        "is looked up in the engine's own cache, then (base only) in the bundled offline copy, "
        "then downloaded if the network allows. A model that cannot be found is an error, "
        "never a silent switch to another model.",
    )
    compute_type: Literal["int8", "float32", "int8_float32", "float16", "int8_float16"] = Field(
        "int8",
        description="CTranslate2 precision (engine ctranslate2 only; float16 kinds need a GPU). "
        "On the ru_council dev meeting (MP4s, WER with numbers as words) int8 was 1 word "
        "better than float32 on the clean file (12.3 % against 13.2 %) and 2 words worse on "
        "the noisy one (31.1 % against 29.2 %, the whisper command's own score; English chrF "
        "37.5 against 38.1), and recognition with its English took about 0.55x the CPU time "
        "(8.4 s against 15.0 s clean, 11.0 s against 20.3 s noisy). float32 when accuracy on "
        "noisy audio matters more than time.",
    )
    language: str = Field(
        "ru", description="Language spoken, as a Whisper code (ru, en, uk, ...) or `auto`."
    )

    @field_validator("language")
    @classmethod
    def _whisper_knows(cls, value: str) -> str:
        if value != "auto" and value not in WHISPER_LANGUAGES:
            raise ValueError("not a language code Whisper knows (ru, en, uk, ...) nor auto")
        return value

    beam_size: int | None = Field(
        5,
        ge=1,
        description="Beam search width (5, as the whisper command uses); empty for greedy "
        "decoding: faster, more errors.",
    )
    best_of: int | None = Field(
        None, ge=1, description="Candidates sampled at non-zero temperature."
    )
    temperatures: list[Annotated[float, Field(ge=0, le=1)]] = Field(
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
    condition_on_previous_window: bool = Field(
        False,
        description="Give Whisper the Russian text of the earlier speech windows as its prompt "
        "for the next, as the whisper command does across its 30 s windows. Off by default: on "
        "the ru_council dev meeting (int8) it saved 1 word on the noisy file (WER with numbers "
        "as words 31.1 % to 30.2 %) and cost 2 on the clean one (12.3 % to 14.2 %: Whisper "
        "invented «Медведиа.» after the last sentence; int8 moves a word between identical "
        "runs). The English is never conditioned: after the earlier English, CTranslate2's "
        "translate decode once fell into a loop of underscores, and with a fallback for that "
        "it gained nothing.",
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
        "cut back to one (a decoding loop), in the transcript and in its translation.",
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
        None, ge=1, le=MAX_SPEAKERS, description="Exact number of speakers, when known (1-64)."
    )
    min_speakers: int | None = Field(
        None, ge=1, le=MAX_SPEAKERS, description="At least this many speakers (1-64)."
    )
    max_speakers: int | None = Field(
        None,
        ge=1,
        le=MAX_SPEAKERS,
        description="At most this many speakers (1-64, not fewer than min_speakers).",
    )
    count: Literal["threshold", "silhouette"] = Field(
        "threshold",
        description="Offline: how the speaker count is found when num_speakers is not set. "
        "threshold: cut at diarization.threshold, then a larger count instead where its "
        "clusters are better separated (out of one speaker: clearly, over enough speech), "
        "since two tight voices can have close centres. silhouette: per clip, the count whose "
        "clusters are best separated (it merged pitch-shifted voices on the tuning clips, "
        "so it is not the default). Either way, two clusters that claim most of the same "
        "one-speaker frames are merged (one voice the chunks labelled twice), and the JSON's "
        "speaker_count gives each candidate count's separation and the margin of the one "
        "chosen; a small margin is reported as uncertain.",
    )
    threshold: float = Field(
        0.7,
        gt=0,
        lt=2,
        description="Offline clustering threshold (distance between unit-length CAM++ "
        "embeddings, centroid linkage): higher merges voices, so fewer speakers. 0.7 was "
        "tuned on ru_council and confirmed on the tune_* clips of "
        "samples/speakers/build_speaker_set.py; it over-splits far-field meetings (AMI). "
        "Set num_speakers when you know it.",
    )
    window: float | None = Field(
        3.0,
        gt=1,
        le=10,
        description="Offline segmentation window, seconds. Shorter windows keep similar voices "
        "apart (chunks hear fewer voices at once): on the tuning clips 3 s found the right count "
        "on 48 of 57, 5 s on 40, the model's own 10 s on 20 or fewer; empty for 10 s.",
    )
    step: float = Field(
        0.15,
        gt=0,
        le=1,
        description="Offline segmentation step, a fraction of the window: the window slides "
        "by window x step seconds. Larger steps embed fewer chunks (faster) and give each "
        "voice fewer chunks to count (see min_cluster_size).",
    )
    min_cluster_size: int = Field(
        8,
        ge=1,
        description="Offline: smallest cluster kept as a speaker, in chunks (8 chunks at a "
        "step of 0.15 x 3 s are 3.6 s of window starts; scale it with the step).",
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
        "numbered in order of first appearance. Names are one line, without control "
        "characters.",
    )

    @field_validator("names")
    @classmethod
    def _one_line_names(cls, names: dict[str, str]) -> dict[str, str]:
        for label, name in names.items():
            if not name.strip() or any(not c.isprintable() for c in label + name):
                raise ValueError(f"the name of {label!r} must be one line of printable text")
        return names

    @model_validator(mode="after")
    def _counts_agree(self) -> DiarizationOptions:
        low, high, exact = self.min_speakers, self.max_speakers, self.num_speakers
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_speakers ({low}) is more than max_speakers ({high})")
        if exact is not None and not (low or 1) <= exact <= (high or MAX_SPEAKERS):
            raise ValueError(f"num_speakers ({exact}) is outside min_speakers..max_speakers")
        return self


class TranslateOptions(Section):
    engine: Literal["auto", "argos", "whisper", "none"] = Field(
        "auto",
        description="argos: an installed Argos Translate ru->en package (text MT, the better "
        "choice). whisper: Whisper's own translate task, decoded from the same encoder pass "
        "as the Russian (the audio is not heard twice) for each speech window, its timed "
        "English laid onto the sentences by time (real, but weak with the base model). "
        "none: Russian only. auto: argos when a ru->en package is installed, else whisper. "
        "The engine used is printed and written to the JSON; asking for argos without a "
        "package is an error, never a silent fallback.",
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
        2,
        ge=1,
        description="Beam width for the whisper engine's English; empty for greedy. 2 was "
        "chosen on the first 150 asterisk_ru prompts (chrF 39.3, against 39.2 at beam 3 and "
        "38.6 at 5) and the ru_council dev meeting (46.0 / 39.2 against 46.1 / 38.5 at 5, "
        "clean / noisy); about 1 s less a file there.",
    )


class OutputOptions(Section):
    formats: list[Literal["srt", "vtt", "json", "rttm", "tsv", "html"]] = Field(
        ["srt", "vtt", "json", "rttm", "tsv", "html"],
        min_length=1,
        description="Files to write. html: <clip>.html, a self-contained review page (player "
        "with subtitles, transcript table, speaker renaming, text correction, export of the "
        "corrected JSON) that opens from disk with no network.",
    )
    speaker_prefix: bool = Field(
        True,
        description="Name the speaker in each cue: `[Name]: ` in SRT, `<v Name>` in WebVTT "
        "(plus the visible name, see vtt_name_text). The name counts towards the line length.",
    )
    vtt_name_text: bool = Field(
        True,
        description="Also write the speaker's name as text, `[Name]: `, in WebVTT cues: "
        "browsers and ffmpeg show no `<v Name>`. false: the `<v>` tag only.",
    )
    burn: Literal["ru", "en", "ru-en"] | None = Field(
        None,
        description="Also write <clip>.<track>.mp4: the video with this subtitle track burned "
        "in (ffmpeg/libass, speaker names shown, DejaVu Sans for Cyrillic), the audio stream "
        "copied untouched. Needs a video stream. Empty: no video is written.",
    )
    line_chars: dict[str, Annotated[int, Field(ge=10, le=200)]] = Field(
        {"ru": 39, "en": 42, "default": 42},
        description="Longest subtitle line, characters, by language (Netflix: 42 English, "
        "39 Russian); 10-200.",
    )
    max_lines: int = Field(2, ge=1, le=10, description="Most lines in one cue.")
    min_cue_duration: float = Field(
        round(5 / 6, 3),
        gt=0,
        le=10,
        description="Shortest time a cue stays on screen, seconds.",
    )
    max_cue_duration: float = Field(
        7.0, gt=0, le=60, description="Longest time on screen, seconds (not below the shortest)."
    )
    reading_speed: float = Field(
        17.0,
        gt=0,
        le=100,
        description="Most characters per second a viewer is asked to read (20 for adult "
        "programmes); cues are lengthened into silence to meet it.",
    )
    frame_rate: float | None = Field(
        None,
        ge=MIN_FRAME_RATE,
        le=MAX_FRAME_RATE,
        description="Frame grid for cue times, 10-120 fps. Empty: the clip's own video frame "
        "rate when it lies in that range, else 25 (audio-only input, slide shows).",
    )
    min_gap_frames: int = Field(
        2, ge=0, le=60, description="Least gap between two cues, in frames."
    )
    close_gap_frames: int = Field(
        12,
        ge=0,
        le=120,
        description="Gaps of this many frames or fewer are closed to the least gap.",
    )
    max_lead: float = Field(
        1.5, ge=0, description="Longest a cue may appear before its speech, seconds."
    )
    max_linger: float = Field(
        1.5, ge=0, description="Longest a cue may stay after its speech, seconds."
    )

    @model_validator(mode="after")
    def _durations_agree(self) -> OutputOptions:
        if self.min_cue_duration > self.max_cue_duration:
            raise ValueError(
                f"min_cue_duration ({self.min_cue_duration}) is more than max_cue_duration "
                f"({self.max_cue_duration})"
            )
        return self


class CheckOptions(Section):
    """Per-sentence checks of the English (`pipeline.stages.checks`, README "English")."""

    min_length_ratio: float = Field(
        0.5,
        gt=0,
        description="English shorter than this share of the Russian's characters is flagged "
        "(something left out).",
    )
    max_length_ratio: float = Field(
        2.0,
        gt=0,
        description="English longer than this many times the Russian's characters is flagged "
        "(something made up).",
    )
    length_min_chars: int = Field(
        20, ge=0, description="Russian sentences shorter than this are not length-checked."
    )
    unknown_words: bool = Field(
        True,
        description="Flag a Russian sentence with words no Russian dictionary knows "
        "(pymorphy3): misheard speech, whose English is then likely wrong too.",
    )
    min_confidence: float = Field(
        -1.0,
        description="Flag English whose engine confidence (mean token log-probability, where "
        "the engine gives one: Argos) is below this. Not used where the engine scores each "
        "word (Whisper): see min_word_logprob.",
    )
    min_word_logprob: float = Field(
        -2.0,
        le=0,
        description="Whisper's English: flag a sentence with a word whose log-probability "
        "(its tokens summed, punctuation left out) is below this, leaving out the first "
        "word, numbers and capitalised names (other checks read those). Chosen on the "
        "design data of samples/translation_labels (the council files and the first two "
        "asterisk_ru sets): -2.0 flags 0.86/0.95 (precision/recall) of the council lines "
        "and 0.81/0.88 of the asterisk ones, where -2.3 flagged 0.89/0.84 and 0.82/0.79; "
        "lower values lose council precision (-1.5: 0.69). See the README for the held-out "
        "set.",
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
        description="Threads of each model runner (torch, CTranslate2). Recognition and "
        "diarization run side by side (`parallel`), so 1 each fills 2 cores without "
        "oversubscribing them; on 2 shared cores 1 thread was also steadier than 2.",
    )
    parallel: bool = Field(
        True,
        description="Diarize on a second thread while Whisper recognises (each with `threads` "
        "torch threads); once recognition is done, diarization embeds two chunks at a time, "
        "and the overlap stage decodes its turns two at a time (CTranslate2 engine: a second "
        "worker, sharing the weights, about 30 MB). Turn off when every core is already busy, "
        "e.g. batch --workers 2 on 2 cores.",
    )
    device: str = Field("cpu", description="Torch device: cpu, cuda, cuda:1, ...")
    cache_dir: str | None = Field(
        None,
        description="Where converted offline models live. Default: "
        "$EVIDENCE_SUBTITLES_CACHE, else ~/.cache/evidence-subtitles.",
    )


class FetchOptions(Section):
    store: str | None = Field(
        None,
        description="Download store for clips given as http(s) links: each file is kept once, "
        "named by its SHA-256, with yt-dlp's info JSON beside it, and a link fetched before is "
        "not downloaded again. Default: .media in the output folder.",
    )
    format: str = Field(
        "b/ba",
        description="yt-dlp format selector. Default: the best single file holding video and "
        "audio, else the best audio alone; never a merge, so the stored file is the bytes the "
        "site served.",
    )
    max_size_mb: float = Field(
        2000, gt=0, description="Largest download, MB (10^6 bytes); a larger one is stopped."
    )
    timeout: float = Field(
        30, gt=0, description="Seconds to wait for a connection or for data before retrying."
    )
    retries: int = Field(
        3, ge=0, le=20, description="Retries of a failed request or cut-off download."
    )
    cookies: str | None = Field(
        None,
        description="A Netscape cookies.txt file to send (also --cookies FILE). Without it no "
        "cookies, .netrc or browser credentials are read.",
    )


class Config(Section):
    audio: AudioOptions = AudioOptions()
    vad: VadOptions = VadOptions()
    asr: AsrOptions = AsrOptions()
    diarization: DiarizationOptions = DiarizationOptions()
    translate: TranslateOptions = TranslateOptions()
    output: OutputOptions = OutputOptions()
    checks: CheckOptions = CheckOptions()
    overlap: OverlapOptions = OverlapOptions()
    runtime: RuntimeOptions = RuntimeOptions()
    fetch: FetchOptions = FetchOptions()


def model_cache_dir(configured: str | None = None) -> Path:
    """Where converted offline models live (outside the repository)."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("EVIDENCE_SUBTITLES_CACHE"):
        return Path(os.environ["EVIDENCE_SUBTITLES_CACHE"]).expanduser()
    return Path.home() / ".cache" / "evidence-subtitles"


def load_config(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
    source: str = "configuration",
) -> Config:
    """Read a YAML file (if any) over `base` (e.g. a transcript's recorded configuration;
    default: the defaults), apply `section.key` overrides, validate everything."""
    data: dict[str, Any] = copy.deepcopy(base) if base else {}
    source = str(path) if path else source
    if path is not None:
        for section, values in _read_yaml(path).items():
            if isinstance(values, dict) and isinstance(data.get(section), dict):
                data[section].update(values)
            else:
                data[section] = values
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
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PipelineError(str(path), f"invalid YAML: {one_line(str(exc))}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PipelineError(str(path), "config must be a mapping of sections")
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML in which a key given twice is an error, not "the last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


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
    message = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    if isinstance(given, dict | list) and len(repr(given)) > 80:
        return f"{where}: {message}"
    return f"{where}: {message} (got {given!r})"


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
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]
