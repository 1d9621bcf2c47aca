"""The typed values that stages hand to each other.

Every time is in seconds on the clip's presentation timeline: 0 is the first
presented frame of the clip, so an audio stream that starts late has its
offset already added. Every type converts to and from plain JSON-ready dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = "1.4"
# Every waveform handed between stages is mono float32 at this rate.
SAMPLE_RATE = 16000


@dataclass
class Word:
    text: str
    start: float
    end: float
    probability: float
    speaker: str | None = None
    speaker_share: float | None = None  # share of the word's time its speaker talks
    # Recovered from an overlapped turn decoded on its own (pipeline.stages.overlap): said
    # underneath another voice; `unsure` when Whisper's confidence in it was low.
    recovered: bool = False
    unsure: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(**data)


@dataclass
class Segment:
    """A stretch of speech as the recogniser decoded it."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    temperature: float | None = None
    speaker: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        words = [Word.from_dict(w) for w in data.get("words", [])]
        return cls(**{**data, "words": words})


@dataclass
class SpeakerTurn:
    start: float
    end: float
    speaker: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerTurn:
        return cls(**data)


@dataclass
class Sentence:
    """A whole sentence of one speaker: the unit that is translated.

    `translation` is in the target language; which engine made it is recorded
    in the transcript's models (role "translation"). `checks` lists the checks its
    English failed, each `"<check>: <detail>"` (`pipeline.stages.checks`): empty when
    all passed, None when there is no English to check.
    """

    id: int
    start: float
    end: float
    speaker: str | None
    text: str
    first_word: int  # index into Transcript.words
    word_count: int
    translation: str | None = None
    # How sure the translator was of `translation`: the mean log-probability of its
    # English tokens (Whisper: of its words, each the sum of its tokens, punctuation left
    # out; 0 is certain, below about -1 is doubtful); None when unknown.
    translation_confidence: float | None = None
    # Whisper only: the log-probability of each word of `translation` (split at
    # whitespace), as `TranslatedSpan.word_logprobs`; None when the engine gives none.
    translation_word_logprobs: list[float] | None = None
    checks: list[str] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sentence:
        return cls(**data)


@dataclass
class TranslatedSpan:
    """English that Whisper's translate task decoded for a stretch of speech, with its time.

    `avg_logprob` is the mean log-probability of the English tokens of the decode it
    came from; `word_logprobs`, where the engine scored its tokens, the log-probability
    of each word of `text` (split at whitespace), the sum over the word's tokens.
    """

    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    word_logprobs: list[float] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranslatedSpan:
        return cls(**data)


@dataclass
class Cue:
    """One subtitle on screen: `lines` are shown one above the other.

    A cue shows one speaker, or is a two-speaker dialogue cue: then `speaker` is
    None, each line starts with "-" and `line_speakers` names who says each line.
    """

    start: float
    end: float
    lines: list[str]
    speaker: str | None = None
    sentence_id: int | None = None  # the sentence this cue shows (part of)
    line_speakers: list[str | None] | None = None  # dialogue cues only
    line_sentence_ids: list[int | None] | None = None  # dialogue cues only
    speech_start: float | None = None  # when the speech shown begins
    speech_end: float | None = None  # ... and ends (translations: their sentence's speech)

    @property
    def is_dialogue(self) -> bool:
        return self.line_speakers is not None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cue:
        return cls(**data)


@dataclass
class RuleViolation:
    """A cue that breaks a subtitle rule the cue builder could not meet."""

    language: str  # the cue track: "ru", "en", "ru-en"
    cue: int  # 1-based, as numbered in the SRT
    rule: (
        str  # e.g. "line_length", "reading_speed", "min_gap" (see pipeline.stages.subtitles.RULES)
    )
    detail: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleViolation:
        return cls(**data)


@dataclass
class SpeechRegion:
    """A stretch the voice-activity detector marked as speech."""

    start: float
    end: float


@dataclass
class Recovery:
    """What the overlap stage found under another voice (see `pipeline.stages.overlap`)."""

    segments: list[Segment] = field(default_factory=list)  # recovered words, one speaker each
    reassigned: list[Word] = field(default_factory=list)  # heard words, with their speaker


@dataclass
class Download:
    """Where a clip given as a link came from: its chain of custody.

    The stored file is what every later stage reads; `sha256` and `size_bytes`
    are its own (the same as `SourceInfo.sha256` and `size_bytes`). Fields the
    site does not give are None.
    """

    url: str  # the link as given (a password in it masked)
    final_url: str  # the page after redirects
    media_url: str  # the media file actually downloaded
    extractor: str  # yt-dlp's extractor: "generic", "html5", "youtube", ...
    media_id: str | None
    title: str | None
    uploader: str | None
    upload_date: str | None  # YYYY-MM-DD, as the site states it
    downloaded_at: str  # UTC, ISO 8601
    yt_dlp_version: str
    format: str  # yt-dlp's format id and description
    size_bytes: int
    sha256: str
    stored_as: str  # the file's name in the download store
    info_json: str  # yt-dlp's info JSON, beside the stored file

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Download:
        return cls(**data)


@dataclass
class SpeakerCount:
    """How the number of speakers was decided for one clip, and how clearly."""

    speakers: int
    method: str  # "given" (an exact count asked for), "silhouette" (chosen per clip), "threshold"
    margin: float | None = None  # chosen count's separation minus the runner-up's
    uncertain: bool = False  # margin too small to trust: set diarization.num_speakers
    scores: dict[str, float] = field(default_factory=dict)  # separation by candidate count


@dataclass
class SourceInfo:
    """What was read: the input file and the audio stream taken from it.

    The file is named, never located: a path can say whose machine, case or
    source it came from, so only the name and SHA-256 are kept.
    """

    name: str
    sha256: str
    size_bytes: int
    container: str
    duration: float
    audio_stream_index: int
    audio_codec: str
    audio_language: str | None
    audio_offset: float  # audio start minus clip start, seconds
    sample_rate: int  # of the decoded audio handed to the models
    frame_rate: float | None = None  # of the video stream; None for audio-only input
    download: Download | None = None  # set when the clip was fetched from a link
    # `duration` is what decoded; the container's own claim is kept beside it.
    claimed_duration: float | None = None  # None when the container does not say
    decode_errors: int = 0  # error lines ffmpeg printed while decoding
    damage: str | None = None  # what is wrong, when damaged media was allowed through
    channels_used: str | None = None  # e.g. "left only" when a stereo mix cancels out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceInfo:
        # Schema 1.2 and older recorded the input's path; it is dropped on reading.
        data = {key: value for key, value in data.items() if key != "path"}
        download = data.get("download")
        return cls(**{**data, "download": Download.from_dict(download) if download else None})


@dataclass
class ModelInfo:
    """A model that produced part of the output, identified beyond doubt."""

    role: str  # "asr", "vad", "diarization", "translation"
    name: str
    sha256: str | None
    source: str  # where it was loaded from, without machine paths

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(**data)


@dataclass
class Edit:
    """A correction a person made to the model's output (e.g. on the review page).

    The transcript holds the corrected value; `original` keeps what the model
    wrote (for a speaker name: the name before the first rename).
    """

    kind: Literal["speaker_name", "text", "translation"]
    original: str | None
    corrected: str
    speaker: str | None = None  # the label renamed (speaker_name)
    sentence_id: int | None = None  # the sentence corrected (text, translation)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edit:
        return cls(**data)


@dataclass
class Transcript:
    source: SourceInfo
    language: str
    segments: list[Segment] = field(default_factory=list)
    turns: list[SpeakerTurn] = field(default_factory=list)  # overlapping speech kept
    exclusive_turns: list[SpeakerTurn] = field(default_factory=list)  # one speaker at a time
    speakers: dict[str, str] = field(default_factory=dict)  # label -> display name
    sentences: list[Sentence] = field(default_factory=list)
    cues: dict[str, list[Cue]] = field(default_factory=dict)  # by language code
    speech_regions: list[SpeechRegion] = field(default_factory=list)
    speaker_count: SpeakerCount | None = None
    models: list[ModelInfo] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    violations: list[RuleViolation] = field(default_factory=list)  # subtitle rules still broken
    edits: list[Edit] = field(default_factory=list)  # corrections made by people, in order
    schema_version: str = SCHEMA_VERSION

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_dataframe(self, table: str = "sentences") -> Any:
        """A pandas DataFrame of the `sentences`, `words` or `cues` (needs pandas).

        Speakers appear by display name; cues get a `track` column ("ru", "en", ...).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_dataframe() needs pandas: pip install 'evidence-subtitles[dataframe]'"
            ) from None
        names = self.speakers
        if table == "sentences":
            rows = [asdict(s) for s in self.sentences]
        elif table == "words":
            rows = [asdict(w) for w in self.words]
        elif table == "cues":
            rows = [
                {"track": track, **asdict(cue), "text": cue.text}
                for track, cues in self.cues.items()
                for cue in cues
            ]
        else:
            raise ValueError(f"table must be sentences, words or cues, not {table!r}")
        frame = pd.DataFrame(rows)
        if "speaker" in frame:
            frame["speaker"] = frame["speaker"].map(lambda s: names.get(s, s) if s else s)
        return frame

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            source=SourceInfo.from_dict(data["source"]),
            language=data["language"],
            segments=[Segment.from_dict(s) for s in data.get("segments", [])],
            turns=[SpeakerTurn.from_dict(t) for t in data.get("turns", [])],
            exclusive_turns=[SpeakerTurn.from_dict(t) for t in data.get("exclusive_turns", [])],
            speakers=data.get("speakers", {}),
            sentences=[Sentence.from_dict(s) for s in data.get("sentences", [])],
            cues={
                lang: [Cue.from_dict(c) for c in cues]
                for lang, cues in data.get("cues", {}).items()
            },
            speech_regions=[SpeechRegion(**r) for r in data.get("speech_regions", [])],
            speaker_count=SpeakerCount(**count) if (count := data.get("speaker_count")) else None,
            models=[ModelInfo.from_dict(m) for m in data.get("models", [])],
            config=data.get("config", {}),
            versions=data.get("versions", {}),
            stage_seconds=data.get("stage_seconds", {}),
            notes=data.get("notes", []),
            violations=[RuleViolation.from_dict(v) for v in data.get("violations", [])],
            edits=[Edit.from_dict(e) for e in data.get("edits", [])],
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )
