"""The offline diarization pipeline: pyannote's SpeakerDiarization on local weights.

Segmentation-3.0 and CAM++ come from the verified speaker-model folder; the
clustering also says how clearly each clip's speaker count was found
(`speaker_count`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.models.campplus import load_campplus_model
from pipeline.models.speaker_files import (
    SEGMENTATION_FILE,
    SpeakerModelError,
    require_speaker_models,
)

if TYPE_CHECKING:
    from pyannote.audio import Model
    from pyannote.audio.pipelines import SpeakerDiarization


# With the model's own 10 s window, similar voices shared one local speaker
# inside a chunk and got merged; shorter windows keep chunks purer (3 s chosen on
# the tuning clips, docs/measurements.md "Eighth pass"). A step of 0.15 window
# embeds a third fewer chunks than pyannote's 0.1 and found as many right counts
# there, with the smallest cluster kept at the same length of speech ("Ninth pass").
DEFAULT_SEGMENTATION_DURATION = 3.0
DEFAULT_SEGMENTATION_STEP = 0.15
DEFAULT_MIN_CLUSTER_SIZE = 8
DEFAULT_MIN_DURATION_OFF = 0.0
DEFAULT_BATCH_SIZE = 8


def load_offline_diarization(
    cache_dir: Path,
    threshold: float = 0.7,
    count_method: str = "threshold",
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_duration_off: float = DEFAULT_MIN_DURATION_OFF,
    segmentation_duration: float | None = DEFAULT_SEGMENTATION_DURATION,
    segmentation_step: float = DEFAULT_SEGMENTATION_STEP,
    embedding_exclude_overlap: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SpeakerDiarization:
    """pyannote's SpeakerDiarization on local segmentation-3.0 + CAM++ weights.

    `count_method` "threshold" cuts the centroid-linkage dendrogram at
    `threshold` (higher merges more); "silhouette" picks the best-separated count
    per clip (`CountingClustering`). `segmentation_duration` is the sliding
    window in seconds (None: the model's 10 s); `segmentation_step` is a
    fraction of it.
    """
    from pyannote.audio.pipelines import SpeakerDiarization

    # imported here: pyannote (and its torchcodec warning) only once diarization is used
    from pipeline.models.speaker_count import CountingClustering

    folder = require_speaker_models(cache_dir)
    pipeline = _clustered_voices_only(SpeakerDiarization)(
        segmentation=load_segmentation_model(folder, segmentation_duration),
        segmentation_step=segmentation_step,
        embedding=load_campplus_model(folder),
        embedding_exclude_overlap=embedding_exclude_overlap,
        plda=_unused_plda(),
        clustering="AgglomerativeClustering",
        embedding_batch_size=batch_size,
        segmentation_batch_size=batch_size,
    )
    # A sub-pipeline of the same class family, so `instantiate` sets its parameters.
    pipeline.clustering = CountingClustering(metric=pipeline.clustering.metric, method=count_method)
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


def _clustered_voices_only(diarization: type[SpeakerDiarization]) -> type[SpeakerDiarization]:
    """`diarization` that gives frames to the clusters' voices only.

    Where pyannote's segmentation hears more voices at once than its clustering
    found, its reconstruction pads the clusters with a speaker that has no
    embedding of its own and gives it those frames: a 30-minute single voice came
    out as two speakers. A speaker no voice stands behind is a wrong attribution,
    so the instantaneous count is capped at the number of clusters. And where the
    user gave a count, no cluster it made is left without frames.
    """

    class ClusteredVoicesOnly(diarization):
        asked_speakers: int | None = None

        def apply(self, file, num_speakers=None, min_speakers=None, max_speakers=None, **kwargs):
            self.asked_speakers = num_speakers or min_speakers
            return super().apply(
                file,
                num_speakers=num_speakers,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                **kwargs,
            )

        def reconstruct(self, segmentations, hard_clusters, count):
            clusters = max(int(np.max(hard_clusters)) + 1, 1)
            count.data = np.minimum(count.data, clusters).astype(np.int8)
            return super().reconstruct(segmentations, hard_clusters, count)

        def to_diarization(self, segmentations, count):
            binary = super().to_diarization(segmentations, count)
            if not self.asked_speakers:
                return binary
            return _asked_clusters_heard(binary, segmentations, count, self.asked_speakers)

    return ClusteredVoicesOnly


def _asked_clusters_heard(binary, segmentations, count, asked: int):
    """`binary` (frames, clusters) where a cluster the user's count made, but that wins no
    frame (each frame goes to its most active clusters, summed over the chunks that hear it,
    so a small cluster can lose everywhere), takes the frames of its own strongest stretch
    (at least half its peak activation) from the weakest cluster there, never that one's
    last frame: a count given is honoured exactly."""
    from pyannote.audio.core.inference import Inference

    heard = binary.data.sum(axis=0) > 0
    if heard.all() or heard.sum() >= asked:
        return binary
    activations = Inference.aggregate(
        segmentations, count.sliding_window, hamming=False, missing=0.0, skip_average=True
    )
    activations = activations.crop(activations.extent & count.extent, return_data=False)
    strength = np.asarray(activations.data)[: len(binary.data)]
    data = binary.data.copy()
    for cluster in np.flatnonzero(~heard):
        own = strength[:, cluster]
        frames = np.flatnonzero((own > 0) & (own >= own.max() / 2) & (data.sum(axis=1) > 0))
        for frame in frames:
            active = np.flatnonzero(data[frame])
            weakest = active[np.argmin(strength[frame, active])]
            if data[:, weakest].sum() > 1:  # never a cluster's last frame
                data[frame, weakest], data[frame, cluster] = 0.0, 1.0
    return type(binary)(data, binary.sliding_window)


def load_segmentation_model(folder: Path, window: float | None = None) -> Model:
    """Segmentation-3.0, declaring `window` seconds as its chunk duration.

    SpeakerDiarization slides its segmentation over chunks of the model's
    declared duration; setting the (public) specifications is how a pipeline is
    told to use another window, with no private attribute touched.
    """
    from pyannote.audio import Model

    # A Lightning checkpoint (pickled hyper-parameters): its hash was checked
    # against the pinned value before we get here.
    model = Model.from_pretrained(str(folder / SEGMENTATION_FILE))
    if model is None:
        raise SpeakerModelError(str(folder / SEGMENTATION_FILE), "could not load segmentation")
    if window is not None:
        model.specifications = dataclasses.replace(model.specifications, duration=window)
    return model.eval()


def _unused_plda():
    """A PLDA placeholder: SpeakerDiarization insists on one even when, as
    here, agglomerative clustering never uses it (only VBx does)."""
    from pyannote.audio.core.plda import PLDA

    class _UnusedPLDA(PLDA):
        def __init__(self) -> None:  # no transform files to read
            pass

    return _UnusedPLDA()
