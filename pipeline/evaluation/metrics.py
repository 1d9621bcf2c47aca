"""Accuracy measures shared by the tests, the benchmarks and `eval`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, one_line
from pipeline.text import normalise
from pipeline.types import SpeakerTurn, Word


def annotation(turns: list[SpeakerTurn], uri: str = "clip"):
    """Turns as a pyannote.core Annotation."""
    from pyannote.core import Annotation, Segment

    result = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        result[Segment(turn.start, turn.end), index] = turn.speaker
    return result


def read_rttm(path: Path) -> list[SpeakerTurn]:
    """Every speaker turn of an RTTM file, whatever its file ids."""
    return [turn for turns in read_rttm_by_uri(path).values() for turn in turns]


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


# --- Evaluation measures (`python -m pipeline eval`) ---------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def normalise_text(text: str, numbers: bool = False, language: str = "ru") -> str:
    """Lowercase, ё as е, punctuation and symbols removed, single spaces.

    With `numbers`, digits are first spelled out in `language` (48 -> сорок восемь), so
    that "48" and "сорок восемь" compare equal; apply it to both sides.
    """
    if numbers:
        text = _NUMBER.sub(lambda match: " " + _spell_number(match.group(), language) + " ", text)
    return normalise(text)


def _spell_number(digits: str, language: str) -> str:
    from num2words import num2words

    decimal = "." in digits or "," in digits
    value = float(digits.replace(",", ".")) if decimal else int(digits)
    try:
        return num2words(value, lang=language).replace("ё", "е")
    except NotImplementedError:  # a language num2words does not know: keep the digits
        return digits


@dataclass
class ErrorCounts:
    """Edit operations between reference and hypothesis (words or characters)."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    hits: int = 0

    @property
    def reference_length(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def rate(self) -> float | None:
        errors = self.substitutions + self.deletions + self.insertions
        return errors / self.reference_length if self.reference_length else None

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.hits + other.hits,
        )

    def to_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "rate": self.rate}


@dataclass
class TextErrors:
    """WER and CER counts of one transcript against its reference."""

    words: ErrorCounts
    characters: ErrorCounts

    def __add__(self, other: TextErrors) -> TextErrors:
        return TextErrors(self.words + other.words, self.characters + other.characters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wer": self.words.rate,
            "cer": self.characters.rate,
            "words": self.words.to_dict(),
            "characters": self.characters.to_dict(),
        }


def text_errors(
    reference: str, hypothesis: str, numbers: bool = False, language: str = "ru"
) -> TextErrors | None:
    """Word and character errors after `normalise_text`; None for an empty reference."""
    import jiwer

    reference = normalise_text(reference, numbers, language)
    hypothesis = normalise_text(hypothesis, numbers, language)
    if not reference:
        return None
    words = jiwer.process_words(reference, hypothesis)
    chars = jiwer.process_characters(reference, hypothesis)
    return TextErrors(
        ErrorCounts(words.substitutions, words.deletions, words.insertions, words.hits),
        ErrorCounts(chars.substitutions, chars.deletions, chars.insertions, chars.hits),
    )


@dataclass
class DiarizationErrors:
    """Seconds of each DER component; `rate` is their sum over the reference speech."""

    false_alarm: float = 0.0
    missed: float = 0.0
    confusion: float = 0.0
    total: float = 0.0  # reference speech, seconds

    @property
    def rate(self) -> float | None:
        errors = self.false_alarm + self.missed + self.confusion
        return errors / self.total if self.total else None

    def __add__(self, other: DiarizationErrors) -> DiarizationErrors:
        return DiarizationErrors(
            self.false_alarm + other.false_alarm,
            self.missed + other.missed,
            self.confusion + other.confusion,
            self.total + other.total,
        )

    def to_dict(self) -> dict[str, float | None]:
        return {**{k: round(v, 3) for k, v in asdict(self).items()}, "rate": self.rate}


def diarization_errors(
    reference: list[SpeakerTurn],
    hypothesis: list[SpeakerTurn],
    collar: float = 0.0,
    uem: list[tuple[float, float]] | None = None,
) -> DiarizationErrors:
    """DER components, scored inside `uem`; `collar` is the total width (0.5 = ±0.25 s)."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    timeline = Timeline([Segment(start, end) for start, end in uem]) if uem else None
    parts = metric(annotation(reference), annotation(hypothesis), uem=timeline, detailed=True)
    return DiarizationErrors(
        false_alarm=float(parts["false alarm"]),
        missed=float(parts["missed detection"]),
        confusion=float(parts["confusion"]),
        total=float(parts["total"]),
    )


@dataclass
class AttributionErrors:
    """Words inside reference speech, and how many of them went to the wrong speaker."""

    scored: int = 0
    wrong: int = 0

    @property
    def rate(self) -> float | None:
        return self.wrong / self.scored if self.scored else None

    def __add__(self, other: AttributionErrors) -> AttributionErrors:
        return AttributionErrors(self.scored + other.scored, self.wrong + other.wrong)

    def to_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "rate": self.rate}


def wrong_speaker_words(
    words: list[Word], reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn]
) -> AttributionErrors:
    """Words whose speaker, mapped to the reference labels, is not the one talking most.

    Hypothesis labels are mapped one-to-one onto reference labels (the mapping of least
    confusion); a label left unmapped, or a word without a speaker, counts as wrong.
    Words that overlap no reference speech are not scored here (see `words_outside_speech`).
    """
    mapping = speaker_mapping(reference, hypothesis)
    result = AttributionErrors()
    for word in words:
        truth = main_speaker(reference, word.start, word.end)
        if truth is None:
            continue
        result.scored += 1
        result.wrong += mapping.get(word.speaker or "") != truth
    return result


def main_speaker(turns: list[SpeakerTurn], start: float, end: float) -> str | None:
    """The speaker who talks longest within [start, end] (at its midpoint for a zero span)."""
    if end <= start:
        middle = (start + end) / 2
        inside = [t.speaker for t in turns if t.start <= middle <= t.end]
        return inside[0] if inside else None
    talk: dict[str, float] = {}
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > 0:
            talk[turn.speaker] = talk.get(turn.speaker, 0.0) + overlap
    return max(talk, key=talk.__getitem__) if talk else None


def words_outside_speech(
    words: list[Word],
    reference: list[SpeakerTurn],
    uem: list[tuple[float, float]] | None = None,
    tolerance: float = 0.25,
) -> list[Word]:
    """Hallucinated words: their midpoint is inside the UEM but more than `tolerance`
    seconds from every reference turn (word times from Whisper are that loose)."""
    found = []
    for word in words:
        middle = (word.start + word.end) / 2
        if uem and not any(start <= middle <= end for start, end in uem):
            continue
        if not any(t.start - tolerance <= middle <= t.end + tolerance for t in reference):
            found.append(word)
    return found


def spans_outside_speech(
    spans: list[tuple[float, float]],
    reference: list[SpeakerTurn],
    uem: list[tuple[float, float]] | None = None,
) -> int:
    """How many spans (cues) overlap no reference turn at all, counted inside the UEM."""
    count = 0
    for start, end in spans:
        if uem and not any(min(end, e) > max(start, s) for s, e in uem):
            continue
        count += not any(min(end, t.end) > max(start, t.start) for t in reference)
    return count


@dataclass
class OverlapRecall:
    """Reference words of overlapped turns, and how many were recognised for their speaker."""

    reference_words: int = 0
    recognised: int = 0
    turns: int = 0  # reference turns that another speaker talks over

    @property
    def rate(self) -> float | None:
        return self.recognised / self.reference_words if self.reference_words else None

    def __add__(self, other: OverlapRecall) -> OverlapRecall:
        return OverlapRecall(
            self.reference_words + other.reference_words,
            self.recognised + other.recognised,
            self.turns + other.turns,
        )

    def to_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "rate": self.rate}


def overlap_recall(
    words: list[Word],
    rows: list[tuple[SpeakerTurn, str]],
    hypothesis: list[SpeakerTurn],
    tolerance: float = 0.25,
    language: str = "ru",
) -> OverlapRecall:
    """Share of the words of overlapped reference turns recognised for the right speaker.

    A reference turn (with its text) counts when another speaker's turn overlaps it. Its
    words are aligned (jiwer) with the hypothesis words whose midpoint lies within the
    turn, `tolerance` seconds either side, and whose speaker maps (one-to-one, as for
    wrong-speaker words) to the turn's speaker; the hits are the recognised words.
    """
    import jiwer

    turns = [turn for turn, _ in rows]
    mapping = speaker_mapping(turns, hypothesis)
    result = OverlapRecall()
    for turn, text in rows:
        if not any(
            other.speaker != turn.speaker
            and min(turn.end, other.end) > max(turn.start, other.start)
            for other in turns
        ):
            continue
        reference = normalise_text(text, language=language)
        if not reference:
            continue
        said = " ".join(
            w.text
            for w in words
            if turn.start - tolerance <= (w.start + w.end) / 2 <= turn.end + tolerance
            and mapping.get(w.speaker or "") == turn.speaker
        )
        result.turns += 1
        result.reference_words += len(reference.split())
        hypothesis_text = normalise_text(said, language=language)
        if hypothesis_text:
            result.recognised += jiwer.process_words(reference, hypothesis_text).hits
    return result


@dataclass
class TranslationRow:
    """One reference unit (a turn, or a whole file) and the English aligned to it."""

    reference: str
    hypothesis: str


def align_translations(
    rows: list[tuple[float, float, str]], sentences: list[tuple[float, float, str]]
) -> list[TranslationRow]:
    """Give each hypothesis sentence to the reference row it overlaps most in time
    (else the nearest one, so that extra text still costs precision), then join
    each row's sentences in time order."""
    assigned: list[list[tuple[float, str]]] = [[] for _ in rows]
    for start, end, text in sentences:
        if not rows or not text.strip():
            continue
        overlaps = [min(end, r_end) - max(start, r_start) for r_start, r_end, _ in rows]
        best = max(range(len(rows)), key=overlaps.__getitem__)
        if overlaps[best] <= 0:
            middle = (start + end) / 2
            best = min(range(len(rows)), key=lambda i: abs((rows[i][0] + rows[i][1]) / 2 - middle))
        assigned[best].append((start, text.strip()))
    return [
        TranslationRow(reference, " ".join(text for _, text in sorted(found)))
        for (_, _, reference), found in zip(rows, assigned, strict=True)
    ]


@dataclass
class TranslationScores:
    bleu: float
    chrf: float
    rows: int


def translation_scores(rows: list[TranslationRow]) -> TranslationScores | None:
    """Corpus-level BLEU and chrF (sacrebleu defaults, 0-100) over the aligned rows."""
    import sacrebleu

    if not rows:
        return None
    hypotheses = [row.hypothesis for row in rows]
    references = [[row.reference for row in rows]]
    return TranslationScores(
        bleu=round(sacrebleu.corpus_bleu(hypotheses, references).score, 2),
        chrf=round(sacrebleu.corpus_chrf(hypotheses, references).score, 2),
        rows=len(rows),
    )


def read_rttm_by_uri(path: Path) -> dict[str, list[SpeakerTurn]]:
    """RTTM speaker turns grouped by file id (uri), read by `pyannote.database`."""
    from pyannote.database.util import load_rttm

    turns = {
        uri: [
            SpeakerTurn(segment.start, segment.end, label)
            for segment, _, label in annotation.itertracks(yield_label=True)
        ]
        for uri, annotation in _load(path, load_rttm).items()
    }
    if any(not isinstance(turn.speaker, str) for found in turns.values() for turn in found):
        raise PipelineError(str(path), "a SPEAKER line has no speaker name (10 RTTM fields)")
    return turns


def read_uem_by_uri(path: Path) -> dict[str, list[tuple[float, float]]]:
    """UEM lines `uri channel start end` (the scored stretches of each file), read by
    `pyannote.database`."""
    from pyannote.database.util import load_uem

    spans = {
        uri: [(segment.start, segment.end) for segment in timeline]
        for uri, timeline in _load(path, load_uem).items()
    }
    if not all(spans.values()):  # a line without its end reads as an empty stretch
        raise PipelineError(str(path), "expected `uri channel start end` on every line")
    return spans


def _load(path: Path, reader: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """A pyannote.database reader's result, with its errors as one line naming the file."""
    try:
        return reader(path)
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        problem = one_line(str(exc)) or type(exc).__name__
        raise PipelineError(str(path), f"cannot read: {problem}") from None


def _number(path: Path, line: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PipelineError(str(path), f"line {line}: {text!r} is not a number") from None


# --- Per-sentence checks of the English against hand-judged labels -------------------------------


@dataclass
class CheckLabel:
    """A hand judgement of one English sentence: is it wrong in meaning?

    Keyed by the sentence's time span on the media's timeline, so that output made later
    (another engine, other sentence bounds) is still matched by time; `english` is the text
    that was judged.
    """

    start: float
    end: float
    english: str
    wrong: bool


LABEL_COLUMNS = ("start", "end", "english", "wrong")


def read_check_labels(path: Path) -> list[CheckLabel]:
    """A labels TSV (header with at least start, end, english, wrong = yes/no)."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(str(path), f"cannot read: {exc}") from None
    if not rows or not set(LABEL_COLUMNS) <= rows[0].keys():
        raise PipelineError(str(path), f"expected the columns {', '.join(LABEL_COLUMNS)}")
    labels = []
    for number, row in enumerate(rows, start=2):
        if row["wrong"] not in ("yes", "no"):
            raise PipelineError(str(path), f"line {number}: wrong must be yes or no")
        start, end = _number(path, number, row["start"]), _number(path, number, row["end"])
        labels.append(CheckLabel(start, end, row["english"], row["wrong"] == "yes"))
    return labels


@dataclass
class CheckCounts:
    """The checks' flags against the labels: flagged-and-wrong, flagged-but-right, ..."""

    flagged_wrong: int = 0  # true positives
    flagged_right: int = 0  # false positives
    passed_wrong: int = 0  # false negatives
    passed_right: int = 0  # true negatives
    unlabelled: int = 0  # English sentences that overlap no label
    changed: int = 0  # scored, but their English is not the text that was judged

    @property
    def precision(self) -> float | None:
        flagged = self.flagged_wrong + self.flagged_right
        return self.flagged_wrong / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        wrong = self.flagged_wrong + self.passed_wrong
        return self.flagged_wrong / wrong if wrong else None

    def __add__(self, other: CheckCounts) -> CheckCounts:
        return CheckCounts(*(a + b for a, b in zip(_counts(self), _counts(other), strict=True)))

    def to_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


def _counts(counts: CheckCounts) -> tuple[int, ...]:
    return tuple(asdict(counts).values())


def check_counts(
    labels: list[CheckLabel], sentences: list[tuple[float, float, str, bool]]
) -> CheckCounts:
    """Score each English sentence (start, end, text, flagged) by the label it overlaps most."""
    result = CheckCounts()
    for start, end, text, flagged in sentences:
        if not text.strip():
            continue
        label = _label_at(labels, start, end)
        if label is None:
            result.unlabelled += 1
            continue
        result.changed += " ".join(label.english.split()) != " ".join(text.split())
        if flagged:
            result.flagged_wrong += label.wrong
            result.flagged_right += not label.wrong
        else:
            result.passed_wrong += label.wrong
            result.passed_right += not label.wrong
    return result


def _label_at(labels: list[CheckLabel], start: float, end: float) -> CheckLabel | None:
    """The label overlapping [start, end] most; for a zero-length span, one around it."""
    middle = (start + end) / 2
    score = [
        (min(end, label.end) - max(start, label.start), label.start <= middle <= label.end)
        for label in labels
    ]
    best = max(range(len(labels)), key=score.__getitem__, default=None)
    if best is None or (score[best][0] <= 0 and not score[best][1]):
        return None
    return labels[best]


def share_right_count(files: list[Any]) -> float | None:
    """Share of files whose speakers found equal the reference's (None: none scored)."""
    scored = [f for f in files if f.speakers_reference is not None]
    if not scored:
        return None
    return round(sum(f.speakers_found == f.speakers_reference for f in scored) / len(scored), 4)
