import pytest

from pipeline.stages.attribution import attribute_segments, attribute_words, smooth_speakers
from pipeline.types import Segment, SpeakerTurn, Word


def _word(text: str, start: float, end: float) -> Word:
    return Word(text=text, start=start, end=end, probability=0.9)


def test_attribute_words_takes_the_speaker_who_talks_most() -> None:
    turns = [
        SpeakerTurn(0.0, 2.0, "SPEAKER_00"),
        SpeakerTurn(2.0, 4.0, "SPEAKER_01"),
        SpeakerTurn(6.0, 7.0, "SPEAKER_00"),
    ]
    words = [
        _word("inside", 0.5, 1.0),  # wholly SPEAKER_00
        _word("straddle", 1.8, 2.6),  # 0.2 s vs 0.6 s: SPEAKER_01
        _word("half", 3.5, 4.5),  # half covered by SPEAKER_01
        _word("gap", 4.6, 4.8),  # no turn: nearest is SPEAKER_01 (ends 4.0)
        _word("late", 5.5, 5.7),  # no turn: nearest is SPEAKER_00 (starts 6.0)
        _word("point", 6.5, 6.5),  # zero length inside SPEAKER_00
    ]

    result = attribute_words(words, turns)

    assert [(w.speaker, round(w.speaker_share, 3)) for w in result] == [
        ("SPEAKER_00", 1.0),
        ("SPEAKER_01", 0.75),
        ("SPEAKER_01", 0.5),
        ("SPEAKER_01", 0.0),
        ("SPEAKER_00", 0.0),
        ("SPEAKER_00", 1.0),
    ]
    assert [w.text for w in result] == [w.text for w in words]
    assert words[0].speaker is None, "input words must not be modified"


def test_attribute_words_sums_a_speakers_turns() -> None:
    # SPEAKER_00 talks 0.4 s in two pieces, SPEAKER_01 0.3 s in one.
    turns = [
        SpeakerTurn(0.0, 0.2, "SPEAKER_00"),
        SpeakerTurn(0.2, 0.5, "SPEAKER_01"),
        SpeakerTurn(0.5, 0.7, "SPEAKER_00"),
    ]
    (word,) = attribute_words([_word("mixed", 0.0, 1.0)], turns)
    assert word.speaker == "SPEAKER_00"
    assert word.speaker_share == pytest.approx(0.4)


def test_attribute_words_without_turns_leaves_words_unattributed() -> None:
    (word,) = attribute_words([_word("alone", 0.0, 1.0)], [])
    assert word.speaker is None and word.speaker_share is None


TURNS = [SpeakerTurn(0.0, 3.0, "SPEAKER_00"), SpeakerTurn(3.0, 6.0, "SPEAKER_01")]


def test_a_lone_boundary_word_does_not_flip():
    # "да" straddles the change and leans 60 % into SPEAKER_01's turn.
    words = [_word("я", 1.0, 1.4), _word("сказал", 1.5, 2.6), _word("да", 2.8, 3.3)]
    attributed = attribute_words(words, TURNS)
    assert attributed[-1].speaker == "SPEAKER_01"

    smoothed = smooth_speakers(attributed, TURNS, min_turn_words=2, keep_share=0.9)

    assert [w.speaker for w in smoothed] == ["SPEAKER_00"] * 3
    assert smoothed[-1].speaker_share == pytest.approx(0.4)


def test_a_word_well_inside_another_turn_is_kept():
    words = [_word("я", 1.0, 1.4), _word("сказал", 1.5, 2.6), _word("Нет!", 3.5, 3.9)]
    smoothed = smooth_speakers(attribute_words(words, TURNS), TURNS, 2, 0.9)
    assert [w.speaker for w in smoothed] == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01"]


def test_a_segment_is_split_where_the_speaker_changes():
    words = [
        _word("Хватит", 1.0, 1.6),
        _word("врать.", 1.7, 2.5),
        _word("Я", 3.2, 3.4),
        _word("не", 3.5, 3.7),
        _word("вру.", 3.8, 4.3),
    ]
    segment = Segment(1.0, 4.3, "Хватит врать. Я не вру.", words, -0.3, 0.01, 1.2, 0.0)

    pieces = attribute_segments([segment], TURNS, min_turn_words=2, keep_share=0.9)

    assert [(p.speaker, p.text) for p in pieces] == [
        ("SPEAKER_00", "Хватит врать."),
        ("SPEAKER_01", "Я не вру."),
    ]
    assert pieces[0].end == 2.5 and pieces[1].start == 3.2
    assert all(p.avg_logprob == -0.3 for p in pieces)
