"""Every model the pipeline uses is found and loaded here, once per process.

`Models` loads lazily and keeps what it loaded, so a batch of clips reuses one
copy of each. What was actually loaded is described by a `ModelInfo` that goes
into every output: a user must be able to see which model made the text.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from pipeline.config import Config, model_cache_dir
from pipeline.errors import PipelineError
from pipeline.models.diarization import load_offline_diarization
from pipeline.models.diarization_hub import HUB_PIPELINE, load_hub_diarization
from pipeline.models.lexicon import russian_morphology
from pipeline.models.speaker_files import offline_speaker_model_infos, require_speaker_models
from pipeline.models.translators import load_translator
from pipeline.models.whisper import LoadedWhisper, load_whisper, locate_whisper
from pipeline.stages.translate import Translator
from pipeline.types import ModelInfo


@dataclass
class LoadedDiarization:
    pipeline: Any  # a pyannote.audio Pipeline
    infos: list[ModelInfo]

    def embed_at_once(self, count: int) -> None:
        """Let the offline speaker embedding embed `count` chunks at once (one thread
        each); the hub pipeline's embedding has no such setting."""
        embedding = getattr(getattr(self.pipeline, "_embedding", None), "model_", None)
        if hasattr(embedding, "workers"):
            embedding.workers = count


def prepare_process(config: Config) -> None:
    """Set up a process that runs the models: call it once, before the first model runs.

    Every entry point calls it (the CLI, batch and Dask workers, the bench, the
    tests); nothing is set up by importing a module.
    """
    # Whisper's word timing uses numba, whose OpenMP start-up raised the process's
    # threads to one per core: torch then ran every later stage with 2 threads on 2
    # busy cores, and VAD and diarization of the next clip took 10-50x longer. numba
    # reads this before each compilation, so setting it before the first clip is enough.
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # pyannote.audio 4 sends usage telemetry unless this is 0; it reads it on every run.
    # Evidence is never reported on, whatever pyannote's own configuration says.
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    # Libraries warn about GPU-only features and optional decoders we do not use.
    warnings.filterwarnings("ignore", message=r"(?s).*torchcodec")
    warnings.filterwarnings("ignore", message=".*FP16 is not supported on CPU.*")
    torch.set_num_threads(config.runtime.threads)
    # numpy's BLAS otherwise takes one thread per core, or what OMP_NUM_THREADS says (Dask
    # workers set it to 1), and its sums round differently with the thread count: on an
    # AVX2 CPU one word of a clip ended 20 ms apart in a Dask worker and in the CLI.
    threadpool_limits(config.runtime.threads, user_api="blas")


class Models:
    """The models of one configuration, loaded on first use and then reused."""

    def __init__(self, config: Config):
        self.config = config
        self.cache = model_cache_dir(config.runtime.cache_dir)

    def check(self) -> None:
        """Fail now, before any clip is read, if a configured model cannot be found."""
        locate_whisper(self.config.asr.model, self.cache, self.config.asr.engine)
        self.translator  # noqa: B018 - an engine asked for but missing fails here
        if self.config.diarization.enabled:
            if self.diarization_kind == "offline":
                require_speaker_models(self.cache)
            else:
                self.diarization  # noqa: B018 - the hub pipeline fails fast only by loading

    def load_all(self) -> None:
        """Load every model the configuration uses now, so no clip's time includes loading."""
        self.whisper, self.vad, self.translator  # noqa: B018 - loaded on first use
        if self.config.diarization.enabled:
            self.diarization  # noqa: B018

    @cached_property
    def translator(self) -> Translator | None:
        return load_translator(
            self.config.translate,
            self.cache,
            lambda: self.whisper,
            self.config.runtime.threads,
        )

    @property
    def diarization_kind(self) -> str:
        options = self.config.diarization
        if options.pipeline != "auto":
            return options.pipeline
        return "community-1" if self.hf_token else "offline"

    @property
    def hf_token(self) -> str | None:
        token = self.config.diarization.hf_token
        return token.get_secret_value() if token else os.environ.get("HF_TOKEN") or None

    @cached_property
    def diarization(self) -> LoadedDiarization:
        options = self.config.diarization
        if self.diarization_kind == "community-1":
            if not self.hf_token:
                raise PipelineError(
                    "diarization.pipeline", "community-1 needs a Hugging Face token: set HF_TOKEN"
                )
            pipeline = load_hub_diarization(self.hf_token)
            infos = [ModelInfo("diarization", HUB_PIPELINE, None, "Hugging Face hub")]
        else:
            pipeline = load_offline_diarization(
                self.cache,
                threshold=options.threshold,
                count_method=options.count,
                min_cluster_size=options.min_cluster_size,
                segmentation_duration=options.window,
                segmentation_step=options.step,
            )
            infos = offline_speaker_model_infos(self.cache)
        if self.config.runtime.device != "cpu":
            pipeline.to(torch.device(self.config.runtime.device))
        return LoadedDiarization(pipeline, infos)

    def diarization_cores(self, count: int) -> None:
        """How many cores diarization may use from now on (its speaker embeddings), if
        it is loaded: 2 once recognition, which ran beside it, is done."""
        loaded = self.__dict__.get("diarization")  # loaded by now, or not needed
        if loaded is not None:
            loaded.embed_at_once(count)

    @cached_property
    def whisper(self) -> LoadedWhisper:
        asr = self.config.asr
        return load_whisper(
            asr.model,
            self.cache,
            self.config.runtime.device,
            asr.engine,
            asr.compute_type,
            self.config.runtime.threads,
            # The overlap stage decodes two turns at once where diarization ran beside
            # recognition: the same two busy threads.
            workers=2 if self.config.runtime.parallel else 1,
        )

    @cached_property
    def russian_words(self) -> Callable[[str], bool]:
        """Whether a lowercase word is a form of a Russian word (the misheard-word check)."""
        return russian_morphology().word_is_known

    @cached_property
    def vad(self) -> torch.nn.Module:
        from silero_vad import load_silero_vad

        return load_silero_vad(onnx=False)

    @cached_property
    def vad_info(self) -> ModelInfo:
        from importlib.metadata import version

        return ModelInfo(
            role="vad",
            name="silero-vad",
            sha256=None,
            source=f"silero-vad {version('silero-vad')} package (JIT)",
        )
