"""The per-clip speaker count, on embeddings with a known number of groups.

The clustering is plain arithmetic on vectors, so known groups of vectors test
it directly; tests/stages/test_diarize.py runs it inside the real pipeline.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyannote.core import SlidingWindow, SlidingWindowFeature

from pipeline.models.speaker_count import SEVERAL_VOICES_SILHOUETTE, CountingClustering

DIMENSION = 192


def _voices(groups: int, per_group: int = 30, spread: float = 0.35, seed: int = 0):
    """(chunks, 1 local speaker, dimension) embeddings around `groups` random voices."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, DIMENSION))
    rows = [
        centre + spread * rng.standard_normal(DIMENSION)
        for centre in centres
        for _ in range(per_group)
    ]
    order = rng.permutation(len(rows))
    embeddings = np.array(rows)[order][:, None, :]
    truth = np.repeat(np.arange(groups), per_group)[order]
    return embeddings, truth


def _segmentations(chunks: int, step: float = 5.0) -> SlidingWindowFeature:
    # every local speaker active on every frame of its chunk, alone; with the default
    # step the chunks do not overlap, since the groups are shuffled over time and two
    # overlapping chunks cannot each hear a different voice alone
    return SlidingWindowFeature(np.ones((chunks, 10, 1)), SlidingWindow(duration=5.0, step=step))


def _voices_in_order(order: list[int], spread: float = 0.3, seed: int = 1) -> np.ndarray:
    """(chunks, 1, dimension) embeddings: chunk i near random voice `order[i]`."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(order) + 1, DIMENSION))
    rows = [centres[group] + spread * rng.standard_normal(DIMENSION) for group in order]
    return np.array(rows)[:, None, :]


def _clustering(method: str = "silhouette") -> CountingClustering:
    clustering = CountingClustering(method=method)
    clustering.instantiate({"method": "centroid", "min_cluster_size": 12, "threshold": 0.7})
    return clustering


@pytest.mark.parametrize("groups", [1, 2, 3, 5])
def test_the_count_is_the_number_of_groups(groups):
    embeddings, truth = _voices(groups)
    clustering = _clustering()
    hard, _, centroids = clustering(embeddings, _segmentations(len(embeddings)))

    assert len(centroids) == groups
    assert clustering.decision.speakers == groups
    assert clustering.decision.method == "silhouette"
    # each found speaker holds exactly one group
    for found in np.unique(hard[:, 0]):
        assert len(np.unique(truth[hard[:, 0] == found])) == 1
    assert not clustering.decision.uncertain


def test_exact_minimum_and_maximum_counts_are_honoured():
    embeddings, _ = _voices(3)
    segmentations = _segmentations(len(embeddings))
    clustering = _clustering()

    assert len(clustering(embeddings, segmentations, num_clusters=2)[2]) == 2
    assert clustering.decision.method == "given" and clustering.decision.margin is None
    assert len(clustering(embeddings, segmentations, min_clusters=4)[2]) == 4
    assert len(clustering(embeddings, segmentations, max_clusters=2)[2]) == 2
    assert len(clustering(embeddings, segmentations, max_clusters=1)[2]) == 1


def test_overlapping_voices_give_a_small_margin_flagged_uncertain():
    clear, _ = _voices(2, spread=0.3)
    blurred, _ = _voices(2, spread=1.2)
    clustering = _clustering()
    clustering(clear, _segmentations(len(clear)))
    clear_margin = clustering.decision.margin
    clustering(blurred, _segmentations(len(blurred)))

    assert clustering.decision.margin < clear_margin
    assert {"1", "2"} <= set(clustering.decision.scores)


def test_the_threshold_count_reports_its_margin_against_the_other_counts():
    embeddings, _ = _voices(3)
    clustering = _clustering("threshold")
    clustering(embeddings, _segmentations(len(embeddings)))
    decision = clustering.decision
    assert decision.method == "threshold" and decision.speakers == 3
    best_other = max(v for k, v in decision.scores.items() if k != "3")
    assert decision.margin == pytest.approx(decision.scores["3"] - best_other, abs=1e-3)


def test_two_clusters_claiming_the_same_clean_speech_are_one_voice():
    # Half-overlapping chunks: every stretch is heard alone by an even and an odd
    # chunk, whose embeddings fall apart (as one far-field voice's did on AMI).
    seen_twice = _voices_in_order([chunk % 2 for chunk in range(60)])
    clustering = _clustering("threshold")
    clustering(seen_twice, _segmentations(60, step=2.5))
    assert clustering.decision.speakers == 1
    assert clustering.decision.scores["2"] > 0.5  # the embeddings alone say two


def test_two_voices_taking_turns_stay_two():
    # The same overlapping chunks, a voice per half: they share one chunk's stretch.
    in_turns = _voices_in_order([chunk // 30 for chunk in range(60)])
    clustering = _clustering("threshold")
    clustering(in_turns, _segmentations(60, step=2.5))
    assert clustering.decision.speakers == 2


def _tight_voices(cosine: float, seed: int = 0, third: bool = False) -> np.ndarray:
    """(30 per voice, 1, dimension) embeddings close around two centres `cosine` apart
    (and, with `third`, a third centre unlike both)."""
    rng = np.random.default_rng(seed)
    first, other, unlike = rng.standard_normal((3, DIMENSION))
    first /= np.linalg.norm(first)
    other -= (other @ first) * first
    second = cosine * first + np.sqrt(1 - cosine**2) * other / np.linalg.norm(other)
    centres = (first, second, unlike / np.linalg.norm(unlike)) if third else (first, second)
    noise = 0.1 / np.sqrt(DIMENSION)
    rows = [
        centre + noise * rng.standard_normal(DIMENSION) for _ in range(30) for centre in centres
    ]
    return np.array(rows)[:, None, :]


@pytest.mark.parametrize("cosine", [0.78, 0.6])
def test_tight_voices_with_close_centres_are_two(cosine):
    # Centres 0.78 alike in cosine are nearer than the 0.7 cut, so the cut makes one
    # speaker of them; yet each voice is tight, and two clusters separate them clearly
    # (as two RHVoice women's were). 0.6 alike, the cut itself finds two.
    clustering = _clustering("threshold")
    clustering(_tight_voices(cosine), _segmentations(60))
    assert clustering.decision.speakers == 2
    assert clustering.decision.scores["2"] >= SEVERAL_VOICES_SILHOUETTE


def test_a_larger_count_that_separates_better_is_taken():
    # Two of three voices have close centres: the cut makes two speakers, three
    # clusters separate them better.
    clustering = _clustering("threshold")
    clustering(_tight_voices(0.78, third=True), _segmentations(90))
    assert clustering.decision.speakers == 3
    assert clustering.decision.scores["3"] > clustering.decision.scores["2"]


def test_one_voice_stays_one_when_no_count_separates_it():
    one_voice, _ = _voices(1, per_group=60)
    clustering = _clustering("threshold")
    clustering(one_voice, _segmentations(60))
    assert clustering.decision.speakers == 1
    assert max(clustering.decision.scores.values()) < SEVERAL_VOICES_SILHOUETTE
