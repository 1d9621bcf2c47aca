"""How many speakers a clip has, and how clearly its embeddings say so.

Every count pyannote can make from a clip's embeddings (centroid linkage,
small clusters folded into the nearest large one) is scored by how well its
clusters are separated: the mean silhouette, cosine. One speaker has no
silhouette; it scores `ONE_SPEAKER_SILHOUETTE`. The count itself comes from:

- `threshold` (default): pyannote's cut of the dendrogram at a fixed distance,
  then the best-separated larger count where it separates the embeddings better
  than the cut's own clusters (out of one speaker: as clearly as
  `SEVERAL_VOICES_SILHOUETTE`): the cut is on the distance between cluster
  centres, which two tight voices can be close in. The scores then say whether
  another count separates the voices as well (a small margin: uncertain).
- `silhouette`: the best-separated count wins, among counts whose clusters are
  all distinct voices (no two centroids as alike as `SAME_VOICE_COSINE`).

Either way, two clusters that claim the same clean speech (frames where their
chunks hear one speaker only) are merged: each chunk sees its stretch of audio
on its own, so one far-field voice can be labelled by different chunks into two
clusters that then share most of their speech; two real voices share little.

The margin is the chosen count's score minus the best other count's.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
from pyannote.audio.pipelines import clustering as pyannote_clustering
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import silhouette_score

from pipeline.types import SpeakerCount

# Chosen on the `tune_*` clips of samples/speakers/build_speaker_set.py only.
ONE_SPEAKER_SILHOUETTE = 0.1
SAME_VOICE_COSINE = 0.7
# One speaker is kept only while no count separates the embeddings this clearly (mean
# silhouette). Chosen at stop 26 on two RHVoice council sets (build_speaker_set.py
# --rhvoice, seeds 101 and 102), the `tune_*` clips, AMI dev and ru_council: a 90 s single
# voice's best other count scored 0.25, two or three RHVoice women cut as one 0.38-0.56.
SEVERAL_VOICES_SILHOUETTE = 0.35
# ... over at least this many embeddings: on a few, as a 9 s single voice gives, any split
# can look clear (silhouette 0.50 there). The RHVoice clips it was chosen for had 49-85.
SEVERAL_VOICES_EMBEDDINGS = 40
MAX_CANDIDATE_SPEAKERS = 10
# Share of the smaller cluster's clean speech that a second cluster also claims, at
# and above which the two are one voice. Chosen on ru_council and AMI dev00/dev01
# only: two ru_council women share up to 0.59, one AMI voice split in two 0.90-1.00.
SAME_SPEECH_SHARE = 0.8
# A margin below this: the count is reported as uncertain.
UNCERTAIN_MARGIN = 0.03


class CountingClustering(pyannote_clustering.AgglomerativeClustering):
    """pyannote's agglomerative clustering that also says how clear its count is.

    An exact count, or a minimum and maximum, are honoured in either mode. The
    decision for the last clip is left in `decision` (a pipeline runs one clip
    at a time).
    """

    def __init__(self, metric: str = "cosine", method: str = "threshold"):
        super().__init__(metric=metric)
        self.count_method = method
        self.decision: SpeakerCount | None = None
        self._speech: CleanSpeech | None = None

    def filter_embeddings(self, embeddings, segmentations=None, min_active_ratio=0.2):
        kept, chunks, speakers = super().filter_embeddings(
            embeddings, segmentations=segmentations, min_active_ratio=min_active_ratio
        )
        self._speech = CleanSpeech(segmentations, chunks, speakers)
        return kept, chunks, speakers

    def __call__(self, embeddings, segmentations=None, num_clusters=None, **kwargs):
        self.decision = None
        self._speech = None
        with warnings.catch_warnings():
            # Speech too short for one embedding (a 0.6 s word): pyannote averages none into
            # its one speaker's centroid, which nothing here reads, and numpy says so twice.
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            hard_clusters, soft_clusters, centroids = super().__call__(
                embeddings, segmentations=segmentations, num_clusters=num_clusters, **kwargs
            )
        if self.decision is None:  # one speaker forced, or too few embeddings to cluster
            self.decision = SpeakerCount(len(centroids), "given" if num_clusters else "too short")
        return hard_clusters, soft_clusters, centroids

    def cluster(self, embeddings, min_clusters, max_clusters, num_clusters=None):
        if num_clusters is not None:
            clusters = super().cluster(embeddings, min_clusters, max_clusters, num_clusters)
            clusters = _at_least(embeddings, clusters, num_clusters)
            self.decision = SpeakerCount(len(np.unique(clusters)), "given")
            return clusters
        unit = embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True)
        top = min(max_clusters, MAX_CANDIDATE_SPEAKERS, len(unit) - 1)
        candidates = self._candidates(unit, max(2, min_clusters), top)
        if min_clusters <= 1:
            candidates[1] = np.zeros(len(unit), dtype=int)
        if self.count_method == "silhouette":
            distinct = {
                count: clusters
                for count, clusters in candidates.items()
                if count == 1 or _closest_centroids(unit, clusters) < SAME_VOICE_COSINE
            }
            scores = {count: _separation(unit, clusters) for count, clusters in distinct.items()}
            chosen = max(scores, key=lambda count: (scores[count], -count)) if scores else None
            clusters = (
                distinct[chosen] if chosen else super().cluster(unit, min_clusters, max_clusters)
            )
        else:
            clusters = super().cluster(embeddings, min_clusters, max_clusters)
            chosen = len(np.unique(clusters))
            candidates[chosen] = clusters
            scores = {count: _separation(unit, c) for count, c in candidates.items()}
        if self._speech is not None:
            clusters = self._speech.merge_same_voice(clusters, min_clusters)
            scores.setdefault(len(np.unique(clusters)), _separation(unit, clusters))
        if self.count_method == "threshold" and len(np.unique(clusters)) == chosen:
            clusters = _better_separated(clusters, candidates, scores)  # (not after a merge)
        clusters = _at_least(unit, clusters, min_clusters)
        self.decision = _decision(len(np.unique(clusters)), self.count_method, scores)
        return clusters

    def _candidates(self, embeddings: np.ndarray, low: int, high: int) -> dict[int, np.ndarray]:
        """Clusters for each count from `low` to `high` that pyannote can really make."""
        candidates = {}
        for count in range(low, high + 1):
            with contextlib.redirect_stdout(io.StringIO()):  # pyannote prints when it falls short
                # pyannote's own search for a known count (it normalises its input in place)
                clusters = super().cluster(embeddings.copy(), count, count, count)
            if len(np.unique(clusters)) < count:  # not enough large clusters: nor for more
                break
            candidates[count] = clusters
        return candidates


class CleanSpeech:
    """Which frames of the clip each embedding heard alone, on one frame grid.

    `segmentations` are the binarized (chunks, frames, local speakers) activities;
    the embedding of row i is local speaker `speakers[i]` of chunk `chunks[i]`.
    """

    def __init__(self, segmentations, chunks: np.ndarray, speakers: np.ndarray):
        activity = np.asarray(segmentations.data) > 0
        alone = activity.sum(axis=2, keepdims=True) == 1
        self.masks = (activity & alone)[chunks, :, speakers]  # (embeddings, frames)
        window = segmentations.sliding_window
        frame = window.duration / activity.shape[1]
        starts = (window.start + chunks * window.step) / frame
        self.offsets = np.round(starts).astype(int)
        self.frames = int(self.offsets.max(initial=0)) + activity.shape[1]

    def merge_same_voice(self, clusters: np.ndarray, min_clusters: int) -> np.ndarray:
        """`clusters` with pairs that share most of their clean speech merged, one
        pair at a time, never below `min_clusters`; renumbered from 0."""
        clusters = _renumbered(clusters)
        while clusters.max() + 1 > max(min_clusters, 1):
            speech = np.array([self._heard(clusters == k) for k in range(clusters.max() + 1)])
            shared = speech.astype(np.int32) @ speech.T.astype(np.int32)
            sizes = np.maximum(np.diag(shared), 1)
            share = shared / np.minimum(sizes[:, None], sizes[None, :])
            np.fill_diagonal(share, 0.0)
            first, second = np.unravel_index(np.argmax(share), share.shape)
            if share[first, second] < SAME_SPEECH_SHARE:
                break
            clusters = _renumbered(np.where(clusters == second, first, clusters))
        return clusters

    def _heard(self, members: np.ndarray) -> np.ndarray:
        heard = np.zeros(self.frames, dtype=bool)
        width = self.masks.shape[1]
        for offset, mask in zip(self.offsets[members], self.masks[members], strict=True):
            heard[offset : offset + width] |= mask
        return heard


def _better_separated(clusters: np.ndarray, candidates: dict, scores: dict) -> np.ndarray:
    """`clusters`, or a larger count whose clusters are better separated than theirs (the
    best such): the cut is on the distance between cluster centres, which two voices can be
    close in while each is tight. Out of one speaker only when that count separates as
    clearly as `SEVERAL_VOICES_SILHOUETTE`, over enough embeddings to say so."""
    count = len(np.unique(clusters))
    larger = {n: score for n, score in scores.items() if n > count and n in candidates}
    if not larger:
        return clusters
    best = max(larger, key=lambda n: (larger[n], -n))
    if count == 1:
        clear = larger[best] >= SEVERAL_VOICES_SILHOUETTE
        clear = clear and len(clusters) >= SEVERAL_VOICES_EMBEDDINGS
    else:
        clear = larger[best] > scores[count]
    return candidates[best] if clear else clusters


def _renumbered(clusters: np.ndarray) -> np.ndarray:
    return np.unique(clusters, return_inverse=True)[1]


def _decision(chosen: int, method: str, scores: dict[int, float]) -> SpeakerCount:
    others = [score for count, score in scores.items() if count != chosen]
    margin = scores[chosen] - max(others) if chosen in scores and others else None
    return SpeakerCount(
        speakers=chosen,
        method=method,
        margin=None if margin is None else round(margin, 4),
        uncertain=margin is not None and margin < UNCERTAIN_MARGIN,
        scores={str(count): round(score, 4) for count, score in sorted(scores.items())},
    )


def _at_least(embeddings: np.ndarray, clusters: np.ndarray, count: int) -> np.ndarray:
    """`clusters`, or a plain cut into `count` when pyannote's small-cluster rule kept fewer:
    a count the user gave is honoured exactly."""
    if len(np.unique(clusters)) >= count or len(embeddings) < count:
        return clusters
    # centroid linkage can have inversions (fewer clusters than asked); average cannot
    return AgglomerativeClustering(
        n_clusters=count, metric="cosine", linkage="average"
    ).fit_predict(embeddings)


def _closest_centroids(embeddings: np.ndarray, clusters: np.ndarray) -> float:
    """Cosine similarity of the two most alike cluster centroids."""
    centroids = np.array([embeddings[clusters == k].mean(axis=0) for k in np.unique(clusters)])
    centroids /= np.linalg.norm(centroids, axis=-1, keepdims=True)
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -1.0)
    return float(similarity.max())


def _separation(embeddings: np.ndarray, clusters: np.ndarray) -> float:
    found = len(np.unique(clusters))
    if found == 1:
        return ONE_SPEAKER_SILHOUETTE
    if found >= len(embeddings):
        return -1.0
    return float(silhouette_score(embeddings, clusters, metric="cosine"))
