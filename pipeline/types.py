"""The typed values that stages hand to each other.

Every time is in seconds on the clip's presentation timeline: 0 is the first
presented frame of the clip, so an audio stream that starts late has its
offset already added. Every type converts to and from plain JSON-ready dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "1.2"
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
    in the transcript's models (role "translation").
    """

    id: int
    start: float
    end: float
    speaker: str | None
    text: str
    first_word: int  # index into Transcript.words
    word_count: int
    translation: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sentence:
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
class SourceInfo:
    """What was read: the input file and the audio stream taken from it."""

    path: str
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceInfo:
        return cls(**data)


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
    models: list[ModelInfo] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    violations: list[RuleViolation] = field(default_factory=list)  # subtitle rules still broken
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
            models=[ModelInfo.from_dict(m) for m in data.get("models", [])],
            config=data.get("config", {}),
            versions=data.get("versions", {}),
            stage_seconds=data.get("stage_seconds", {}),
            notes=data.get("notes", []),
            violations=[RuleViolation.from_dict(v) for v in data.get("violations", [])],
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )


def transcript_schema() -> dict[str, Any]:
    """JSON Schema of `<clip>.json` (docs/transcript.schema.json is this, written out)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(Transcript).json_schema()
    schema["title"] = f"evidence-subtitles transcript, schema version {SCHEMA_VERSION}"
    return schema
