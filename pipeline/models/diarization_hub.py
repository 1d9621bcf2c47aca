"""pyannote's community-1 pipeline from the Hugging Face hub (network and token)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from pipeline.models.speaker_files import SpeakerModelError

if TYPE_CHECKING:
    from pyannote.audio import Pipeline


HUB_PIPELINE = "pyannote/speaker-diarization-community-1"


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
        "diarization (diarization.pipeline=offline) instead",
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
