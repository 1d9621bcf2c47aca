"""The evaluation measures on small hand-made inputs whose answers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.evaluation.metrics import (
    ErrorCounts,
    TranslationRow,
    align_translations,
    check_counts,
    diarization_errors,
    main_speaker,
    normalise_text,
    read_check_labels,
    read_rttm_by_uri,
    read_uem_by_uri,
    share_right_count,
    spans_outside_speech,
    text_errors,
    translation_scores,
    words_outside_speech,
    wrong_speaker_words,
)
from pipeline.types import SpeakerTurn, Word


def word(start: float, end: float, speaker: str | None = None, text: str = "слово") -> Word:
    return Word(text, start, end, 0.9, speaker)


# --- text ----------------------------------------------------------------------------------------


def test_normalise_lowercases_folds_yo_and_drops_punctuation():
    assert normalise_text("Ёлка, «Ещё!» — сказал он… (да?)") == "елка еще сказал он да"


def test_normalise_spells_numbers_out_only_when_asked():
    assert normalise_text("Расходы: 48 млн, рост 15%.") == "расходы 48 млн рост 15"
    spelled = normalise_text("Расходы: 48 млн, рост 15%.", numbers=True)
    assert spelled == "расходы сорок восемь млн рост пятнадцать"
    assert normalise_text("2,5 км", numbers=True) == "две целых пять десятых км"


def test_word_and_character_errors_are_counted_by_jiwer():
    errors = text_errors("один два три четыре", "Один, два, пять четыре шесть.")
    assert errors is not None
    words = errors.words
    assert (words.substitutions, words.deletions, words.insertions, words.hits) == (1, 0, 1, 3)
    assert words.rate == pytest.approx(2 / 4)
    characters = text_errors("абв", "абг")
    assert characters is not None and characters.characters.rate == pytest.approx(1 / 3)


def test_number_normalisation_forgives_digits_against_words_on_both_sides():
    raw = text_errors("бюджет 48 миллионов", "бюджет сорок восемь миллионов")
    spelled = text_errors("бюджет 48 миллионов", "бюджет сорок восемь миллионов", numbers=True)
    assert raw is not None and raw.words.rate == pytest.approx(2 / 3)  # 48->сорок, +восемь
    assert spelled is not None and spelled.words.rate == 0.0


def test_empty_reference_is_not_scored_and_empty_hypothesis_is_all_deletions():
    assert text_errors(" — ", "что-то") is None
    errors = text_errors("раз два", "")
    assert errors is not None and errors.words.rate == 1.0 and errors.words.deletions == 2


def test_pooled_rate_weighs_files_by_their_length():
    short = ErrorCounts(substitutions=1, hits=3)  # 1 error in 4 words
    long = ErrorCounts(deletions=3, hits=3)  # 3 errors in 6 words
    assert (short + long).rate == pytest.approx(4 / 10)  # not the mean of 25 % and 50 %


# --- speakers ------------------------------------------------------------------------------------

REFERENCE = [SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(10.0, 20.0, "B")]


def test_der_counts_a_late_boundary_unless_the_collar_covers_it():
    hypothesis = [SpeakerTurn(0.0, 10.2, "x"), SpeakerTurn(10.2, 20.0, "y")]
    plain = diarization_errors(REFERENCE, hypothesis, uem=[(0.0, 20.0)])
    assert plain.confusion == pytest.approx(0.2)
    assert plain.rate == pytest.approx(0.2 / 20)
    # collar is the total width: 0.5 forgives ±0.25 s around the boundary at 10 s
    collared = diarization_errors(REFERENCE, hypothesis, collar=0.5, uem=[(0.0, 20.0)])
    assert collared.rate == pytest.approx(0.0)


def test_der_counts_missed_speech_and_false_alarms_inside_the_uem_only():
    hypothesis = [SpeakerTurn(0.0, 8.0, "x"), SpeakerTurn(10.0, 22.0, "y")]
    errors = diarization_errors(REFERENCE, hypothesis, uem=[(0.0, 25.0)])
    assert errors.missed == pytest.approx(2.0)
    assert errors.false_alarm == pytest.approx(2.0)
    assert errors.rate == pytest.approx(4.0 / 20.0)
    inside = diarization_errors(REFERENCE, hypothesis, uem=[(0.0, 20.0)])
    assert inside.false_alarm == pytest.approx(0.0)  # 20-22 s is outside the scored stretch


def test_wrong_speaker_share_maps_labels_and_skips_words_outside_speech():
    hypothesis = [SpeakerTurn(0.0, 10.0, "S1"), SpeakerTurn(10.0, 20.0, "S2")]
    words = [
        word(1.0, 2.0, "S1"),  # right
        word(11.0, 12.0, "S2"),  # right
        word(13.0, 14.0, "S1"),  # wrong: B talks here, S1 is A
        word(9.5, 10.8, "S2"),  # right: B talks 0.8 s of it, A 0.5 s
        word(25.0, 26.0, "S1"),  # no reference speech: not scored
        word(3.0, 4.0, None),  # no speaker: wrong
    ]
    errors = wrong_speaker_words(words, REFERENCE, hypothesis)
    assert (errors.scored, errors.wrong) == (5, 2)
    assert errors.rate == pytest.approx(2 / 5)


def test_a_third_hypothesis_speaker_has_no_reference_match_and_counts_wrong():
    hypothesis = [
        SpeakerTurn(0.0, 10.0, "S1"),
        SpeakerTurn(10.0, 18.0, "S2"),
        SpeakerTurn(18.0, 20.0, "S3"),
    ]
    errors = wrong_speaker_words(
        [word(19.0, 19.5, "S3"), word(12, 13, "S2")], REFERENCE, hypothesis
    )
    assert (errors.scored, errors.wrong) == (2, 1)


def test_main_speaker_is_who_talks_longest_during_the_word():
    overlapping = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(4.0, 8.0, "B")]
    assert main_speaker(overlapping, 3.5, 4.4) == "A"  # A 0.9 s, B 0.4 s
    assert main_speaker(overlapping, 4.5, 6.0) == "B"
    assert main_speaker(overlapping, 9.0, 9.5) is None
    assert main_speaker(overlapping, 6.0, 6.0) == "B"  # zero length: at its midpoint


# --- hallucination -------------------------------------------------------------------------------


def test_hallucinated_words_lie_where_the_reference_has_no_speech():
    reference = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(8.0, 10.0, "A")]
    words = [
        word(1.5, 2.5, text="в речи"),
        word(5.0, 5.4, text="на краю"),  # midpoint 5.2: within 0.25 s of the turn
        word(6.0, 7.0, text="выдумка"),  # midpoint 6.5: in the pause
        word(10.8, 11.2, text="после"),  # midpoint 11.0: after the speech, inside the UEM
        word(12.8, 13.2, text="вне"),  # outside the UEM: not scored
    ]
    found = words_outside_speech(words, reference, uem=[(0.0, 12.0)])
    assert [w.text for w in found] == ["выдумка", "после"]
    assert len(words_outside_speech(words, reference)) == 3  # without a UEM, everything counts


def test_cues_outside_speech_overlap_no_reference_turn():
    reference = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(8.0, 10.0, "A")]
    cues = [(1.0, 4.0), (4.5, 6.0), (6.0, 7.5), (7.9, 8.1), (20.0, 21.0)]
    assert spans_outside_speech(cues, reference) == 2
    assert spans_outside_speech(cues, reference, uem=[(0.0, 12.0)]) == 1


# --- translation ---------------------------------------------------------------------------------


def test_each_sentence_goes_to_the_turn_it_overlaps_most_else_the_nearest():
    rows = [(0.0, 5.0, "Hello there."), (5.0, 10.0, "Good bye.")]
    sentences = [
        (2.5, 4.9, "there."),
        (0.5, 2.0, "Hello"),
        (4.0, 9.0, "Good bye."),  # 1 s in the first turn, 4 s in the second
        (20.0, 21.0, "Extra."),  # overlaps nothing: the nearest turn pays for it
    ]
    assert align_translations(rows, sentences) == [
        TranslationRow("Hello there.", "Hello there."),
        TranslationRow("Good bye.", "Good bye. Extra."),
    ]


def test_bleu_and_chrf_are_100_for_a_perfect_match_and_low_for_unrelated_text():
    references = [
        "The boiler house is under repair, the work will be finished by Friday.",
        "Please do not interrupt, I am answering the question.",
    ]
    perfect = translation_scores([TranslationRow(r, r) for r in references])
    close = translation_scores(
        [
            TranslationRow(references[0], "The boiler room is being repaired until Friday."),
            TranslationRow(references[1], "Please do not interrupt, I answer the question."),
        ]
    )
    unrelated = translation_scores(
        [TranslationRow(r, "Bananas grow in Ecuador.") for r in references]
    )
    assert perfect is not None and close is not None and unrelated is not None
    assert perfect.bleu == pytest.approx(100.0) and perfect.chrf == pytest.approx(100.0)
    assert unrelated.bleu < 5 and unrelated.chrf < 20
    assert unrelated.bleu < close.bleu < perfect.bleu
    assert unrelated.chrf < close.chrf < perfect.chrf
    assert translation_scores([]) is None


# --- reference files -----------------------------------------------------------------------------


def test_rttm_and_uem_are_split_by_file_id(tmp_path: Path):
    rttm = tmp_path / "ref.rttm"
    rttm.write_text(
        "SPEAKER a 1 0.5 2.0 <NA> <NA> S1 <NA> <NA>\n"
        "SPEAKER b 1 1.0 1.5 <NA> <NA> S2 <NA> <NA>\n"
        "SPEAKER a 1 3.0 1.0 <NA> <NA> S2 <NA> <NA>\n"
    )
    uem = tmp_path / "ref.uem"
    uem.write_text("a NA 0.000 30.000\nb 1 2 9\n")
    turns = read_rttm_by_uri(rttm)
    assert turns["a"] == [SpeakerTurn(0.5, 2.5, "S1"), SpeakerTurn(3.0, 4.0, "S2")]
    assert turns["b"] == [SpeakerTurn(1.0, 2.5, "S2")]
    assert read_uem_by_uri(uem) == {"a": [(0.0, 30.0)], "b": [(2.0, 9.0)]}


def test_a_malformed_reference_line_is_one_error_naming_the_file(tmp_path: Path):
    rttm = tmp_path / "bad.rttm"
    rttm.write_text(
        "SPEAKER a 1 0.5 2.0 <NA> <NA> S1 <NA> <NA>\nSPEAKER a 1 soon 2.0 <NA> <NA> S1\n"
    )
    with pytest.raises(PipelineError, match=r"bad\.rttm: cannot read: .*'soon'"):
        read_rttm_by_uri(rttm)
    uem = tmp_path / "bad.uem"
    uem.write_text("a 1 0.0\n")
    with pytest.raises(PipelineError, match=r"bad\.uem: expected `uri channel start end`"):
        read_uem_by_uri(uem)


def test_checks_are_scored_by_the_label_each_sentence_overlaps_most(tmp_path: Path):
    labels_file = tmp_path / "clip.mp4.tsv"
    labels_file.write_text(
        "start\tend\tenglish\twrong\twhy\n"
        "0.0\t2.0\tThe road is in the Red Sea.\tyes\tthe money is gone\n"
        "2.5\t4.0\tThank you.\tno\tright\n"
        "4.5\t6.0\tThis is not more.\tyes\tnegated\n",
        encoding="utf-8",
    )
    labels = read_check_labels(labels_file)
    assert [label.wrong for label in labels] == [True, False, True]
    counts = check_counts(
        labels,
        [
            (0.1, 1.9, "The road is in the Red Sea.", True),  # flagged, wrong
            (2.4, 3.9, "Thanks.", True),  # flagged, right (English changed since labelling)
            (4.6, 6.1, "This is not more.", False),  # missed
            (9.0, 9.5, "Goodbye.", False),  # no label there
        ],
    )
    assert (counts.flagged_wrong, counts.flagged_right, counts.passed_wrong) == (1, 1, 1)
    assert (counts.unlabelled, counts.changed) == (1, 1)
    assert counts.precision == 0.5 and counts.recall == 0.5
    assert (counts + counts).recall == 0.5


def test_a_bad_label_names_the_file_and_line(tmp_path: Path):
    labels_file = tmp_path / "clip.mp4.tsv"
    labels_file.write_text("start\tend\tenglish\twrong\n0\t1\tHi.\tmaybe\n", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"clip\.mp4\.tsv: line 2: wrong must be yes or no"):
        read_check_labels(labels_file)


DEV_COUNCIL = ("dev_council_clean", "dev_council_hard")


def test_the_committed_labels_read_and_cover_every_dev_file():
    folder = Path(__file__).parents[2] / "samples" / "translation_labels"
    names = sorted(p.name for p in folder.glob("*.tsv"))
    assert names == [
        "council_sample.mp4.tsv",
        "dev_council_clean.mp4.tsv",
        "dev_council_hard.mp4.tsv",
    ]
    for path in folder.glob("*.tsv"):
        labels = read_check_labels(path)
        assert labels and all(label.end >= label.start and label.english for label in labels)


def test_the_share_of_files_with_the_right_speaker_count():
    from types import SimpleNamespace as File

    files = [
        File(speakers_found=2, speakers_reference=2),
        File(speakers_found=3, speakers_reference=2),
        File(speakers_found=4, speakers_reference=4),
        File(speakers_found=1, speakers_reference=None),  # no RTTM: not scored
    ]
    assert share_right_count(files) == pytest.approx(2 / 3, abs=1e-4)
    assert share_right_count(files[3:]) is None
