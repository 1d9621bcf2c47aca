"""The stage cache: what a stage computed, kept under the key of everything it depended on.

A batch keeps one store, `OUT/.cache/<stage>/<key>.json`. A stage's key is the
SHA-256 of its inputs, written as canonical JSON:

    extract    input file SHA-256, audio options
    vad        extract key, vad options, VAD model
    diarize    extract key, diarization options (not display names), diarization models
    asr        vad key, asr options (engine and compute type among them), Whisper model
               (name and SHA-256), and the English beam when Whisper translates (its
               English is decoded in the same pass)
    overlap    asr key, diarize key, overlap options (words recovered from overlapped turns)
    attribute  asr key, diarize key, overlap key, attribution options (min_turn_words, keep_share)
    translate  attribute key, translate options, translation model

plus `CACHE_FORMAT` and the versions of the libraries that compute the stages. So
changing only `translate.*` changes only the translate key: everything before
it is read back, and only translation runs again. Cues and files are cheap and
always redone. An entry is written atomically; one that cannot be read or does
not hold what its name says is a miss, never an error.

Audio is decoded only when a stage has to run (`ClipAudio`): on a full hit the
clip is hashed, not decoded.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from pipeline.config import AudioOptions
from pipeline.errors import one_line
from pipeline.files import atomic_write_text, file_sha256
from pipeline.stages.audio import Audio, load_audio
from pipeline.types import (
    Recovery,
    Segment,
    Sentence,
    SourceInfo,
    SpeakerCount,
    SpeakerTurn,
    SpeechRegion,
    TranslatedSpan,
    Word,
)

if TYPE_CHECKING:
    import numpy as np

    from pipeline.stages.asr import Recognition
    from pipeline.stages.diarize import DiarizationResult
    from pipeline.stages.translate import English
    from pipeline.timing import StageClock

log = logging.getLogger("pipeline")

# Bump when a stage's code changes what it returns for the same inputs.
CACHE_FORMAT = 6  # 2: decoded duration and damage; 3: English spans heard with the Russian;
# 4: English split between the sentences it spans, words recovered from overlaps; 5: English
# word log-probabilities, each sentence's own English confidence; 6: an English decode that
# loops is decoded again at the fallback temperatures
CACHE_DIR = ".cache"
# Libraries whose upgrade may change a stage's result.
_LIBRARIES = [
    "openai-whisper",
    "faster-whisper",
    "torch",
    "silero-vad",
    "pyannote.audio",
    "argos-translate-lt",
    "ctranslate2",
]

T = TypeVar("T")


def canonical_json(value: Any) -> str:
    """One spelling of `value`: sorted keys, no spaces, options and dataclasses as dicts."""
    return json.dumps(
        plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def plain(value: Any) -> Any:
    """`value` as JSON-ready dicts and lists (dataclasses, pydantic options, tuples)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@functools.cache
def library_versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


class StageCache:
    """One clip's view of the store under `root` (None: no cache, every stage runs).

    Records which stages ran (`ran`) and which were read back (`hits`).
    """

    def __init__(self, root: Path | None):
        self.root = Path(root) if root is not None else None
        self.ran: list[str] = []
        self.hits: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def key(self, stage: str, parts: dict[str, Any]) -> str:
        if not self.enabled:
            return ""
        return digest(
            {"format": CACHE_FORMAT, "stage": stage, "libraries": library_versions(), **parts}
        )

    def has(self, stage: str, parts: dict[str, Any]) -> bool:
        """Whether `stage` with these `parts` is stored (it may still prove unreadable)."""
        return self.enabled and self.path(stage, self.key(stage, parts)).is_file()

    def path(self, stage: str, key: str) -> Path:
        assert self.root is not None
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str, load: Callable[[Any], T]) -> T | None:
        """The stored value, or None when absent, unreadable or not what it claims to be.

        A bad entry is computed again, and said so: an entry the code cannot load
        (a bug, or a format changed without a new CACHE_FORMAT) must not silently
        turn into a permanent miss.
        """
        if not self.enabled:
            return None
        path = self.path(stage, key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["stage"] != stage or entry["key"] != key:
                raise ValueError("entry does not match its name")
            stored = entry["value"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cache: %s: unreadable entry (%s); computing it again", path, exc)
            return None
        try:
            value = load(stored)
        except Exception as exc:  # whatever the loader raises, the stage can still run
            log.warning(
                "cache: %s: cannot load the %s entry (%s: %s); computing it again",
                path,
                stage,
                type(exc).__name__,
                one_line(str(exc)),
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return None
        self.hits.append(stage)
        return value

    def put(self, stage: str, key: str, value: Any) -> None:
        if not self.enabled:
            return
        path = self.path(stage, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"format": CACHE_FORMAT, "stage": stage, "key": key, "value": plain(value)}
        atomic_write_text(path, json.dumps(entry, ensure_ascii=False) + "\n")

    def run(
        self,
        stage: str,
        parts: dict[str, Any],
        compute: Callable[[], T],
        load: Callable[[Any], T],
        clock: StageClock,
    ) -> tuple[T, str]:
        """Read `stage` back, or compute it (timed by `clock`) and store it; and its key."""
        key = self.key(stage, parts)
        cached = self.get(stage, key, load)
        if cached is not None:
            return cached, key
        with clock.stage(stage):
            value = compute()
        self.ran.append(stage)
        self.put(stage, key, value)
        return value, key


class ClipAudio:
    """A clip's audio, decoded (as the "extract" stage) only when a stage needs samples."""

    def __init__(self, clip: Path, options: AudioOptions, cache: StageCache, clock: StageClock):
        self.clip = Path(clip)
        self.options = options
        self.cache = cache
        self.clock = clock
        self._audio: Audio | None = None
        self._source: SourceInfo | None = None
        self._decoding = threading.Lock()
        self.key = ""
        self._sha256: str | None = None
        if cache.enabled and self.clip.is_file():
            self._sha256 = file_sha256(self.clip)
            self.key = cache.key("extract", {"input": self._sha256, "audio": options})
            self._source = cache.get("extract", self.key, SourceInfo.from_dict)

    @property
    def source(self) -> SourceInfo:
        if self._source is None:
            self._source = self._decode().source
        # The same content may sit under another name or folder than when it was cached.
        return dataclasses.replace(self._source, name=self.clip.resolve().name)

    @property
    def samples(self) -> np.ndarray:
        return self._decode().samples

    def _decode(self) -> Audio:
        with self._decoding:  # stages on two threads may both need the samples first
            return self._decode_once()

    def _decode_once(self) -> Audio:
        if self._audio is None:
            with self.clock.stage("extract"):
                self._audio = load_audio(self.clip, self.options, self._sha256)
            self.cache.ran.append("extract")
            if "extract" in self.cache.hits:  # the description was cached, the samples are not
                self.cache.hits.remove("extract")
            if self.key:
                self.cache.put("extract", self.key, self._audio.source)
        return self._audio


# Readers of stored values: each the inverse of `plain` for one stage's result.


def load_speech(data: Any) -> tuple[list[SpeechRegion], list[SpeechRegion]]:
    regions, windows = data
    return [SpeechRegion(**r) for r in regions], [SpeechRegion(**w) for w in windows]


def load_diarization(data: Any) -> DiarizationResult:
    from pipeline.stages.diarize import DiarizationResult

    return DiarizationResult(
        turns=[SpeakerTurn.from_dict(t) for t in data["turns"]],
        exclusive_turns=[SpeakerTurn.from_dict(t) for t in data["exclusive_turns"]],
        speakers=list(data["speakers"]),
        count=SpeakerCount(**count) if (count := data.get("count")) else None,
    )


def load_recognition(data: Any) -> Recognition:
    from pipeline.stages.asr import Recognition

    return Recognition(
        segments=[Segment.from_dict(s) for s in data["segments"]],
        language=data["language"],
        dropped=list(data["dropped"]),
        english=[TranslatedSpan.from_dict(span) for span in data.get("english", [])],
    )


def load_recovery(data: Any) -> Recovery:
    return Recovery(
        segments=[Segment.from_dict(s) for s in data["segments"]],
        reassigned=[Word.from_dict(w) for w in data["reassigned"]],
    )


def load_attribution(data: Any) -> tuple[list[Segment], list[Sentence]]:
    segments, sentences = data
    return [Segment.from_dict(s) for s in segments], [Sentence.from_dict(s) for s in sentences]


def load_translations(data: Any) -> list[English]:
    """Each sentence's (English, confidence, its words' log-probabilities)."""
    if not isinstance(data, list):
        raise ValueError("translations must be a list")
    triples = [(text, confidence, words) for text, confidence, words in data]
    if not all(
        isinstance(t, str)
        and (c is None or isinstance(c, float))
        and (w is None or all(isinstance(p, float) for p in w))
        for t, c, w in triples
    ):
        raise ValueError("translations must be (text, confidence, word log-probabilities)")
    return triples


def diarization_options(options: BaseModel) -> dict[str, Any]:
    """The diarization options that change who-speaks-when (not names, not the token)."""
    return options.model_dump(
        mode="json", exclude={"names", "hf_token", "min_turn_words", "keep_share", "enabled"}
    )
