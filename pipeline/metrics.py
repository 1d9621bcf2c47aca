"""Accuracy measures shared by the tests, the benchmarks and `eval`."""

from __future__ import annotations

from pathlib import Path

from pipeline.types import SpeakerTurn, Word


def annotation(turns: list[SpeakerTurn], uri: str = "clip"):
    """Turns as a pyannote.core Annotation."""
    from pyannote.core import Annotation, Segment

    result = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        result[Segment(turn.start, turn.end), index] = turn.speaker
    return result


def read_rttm(path: Path) -> list[SpeakerTurn]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def diarization_error_rate(
    reference: list[SpeakerTurn],
    hypothesis: list[SpeakerTurn],
    collar: float = 0.0,
    uem: tuple[float, float] | None = None,
) -> float:
    """DER; `collar` is the total width around each reference boundary (pyannote's)."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    timeline = Timeline([Segment(*uem)]) if uem else None
    return float(metric(annotation(reference), annotation(hypothesis), uem=timeline))


def speaker_mapping(reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn]) -> dict[str, str]:
    """Hypothesis label -> reference label, the one-to-one mapping with most overlap."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    return dict(
        DiarizationErrorRate().optimal_mapping(annotation(reference), annotation(hypothesis))
    )


def word_attribution_accuracy(
    words: list[Word], reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn]
) -> float:
    """Share of words (inside one reference turn) given the right speaker."""
    mapping = speaker_mapping(reference, hypothesis)
    scored = right = 0
    for word in words:
        middle = (word.start + word.end) / 2
        truth = {t.speaker for t in reference if t.start <= middle <= t.end}
        if len(truth) != 1:
            continue  # outside speech, or in overlap: no single right answer
        scored += 1
        right += mapping.get(word.speaker or "") in truth
    return right / scored if scored else 0.0
