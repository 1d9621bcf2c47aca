"""Per-sentence checks of the English, on the sample's real failures and on right translations."""

import pytest

from pipeline.config import CheckOptions
from pipeline.models.lexicon import russian_morphology
from pipeline.stages.checks import (
    check_sentence,
    check_sentences,
    english_numbers,
    russian_numbers,
    summarise_checks,
)
from pipeline.types import Sentence

GLOSSARY = ["Солдатов", "Старобельск"]
RUSSIAN_WORDS = russian_morphology().word_is_known


def checks(russian: str, english: str | None, confidence: float | None = None) -> list[str] | None:
    sentence = Sentence(0, 0.0, 1.0, None, russian, 0, 1, translation=english)
    if confidence is not None:
        sentence.translation_confidence = confidence  # set by engines that report one
    check_sentences([sentence], CheckOptions(), GLOSSARY, known_word=RUSSIAN_WORDS)
    return sentence.checks


@pytest.mark.parametrize(
    ("russian", "english", "failed"),
    [
        # The bundled sample's English before this check existed (issue 17).
        (
            "Расходы на ремонт дорог составят 48 миллионов рублей.",
            "The road is located in the city of the Red Sea.",
            ["numbers: 48 million missing"],
        ),
        (
            "Это на 15% больше, чем в прошлом году.",
            "This is not 15% more than last year.",
            ["negation: only the English is negative"],
        ),
        (
            "Кабинет номер 8.",
            "No. 8 is not the office.",
            ["negation: only the English is negative"],
        ),
        (
            "Слово предоставляется Андрею Солдатову из финансового отдела.",
            "The floor is given to Andrew from the financial department.",
            ["names: Солдатов not in the English"],
        ),
        (
            "Сегодня на повестке бюджет Старобельска.",
            "Today the agenda is the budget.",
            ["names: Старобельск not in the English"],
        ),
        (
            "Сорок восемь миллионов рублей.",
            "Forty-eight thousand roubles.",
            ["numbers: 48 million missing"],
        ),
        ("Заседание закрыто.", "The meeting is closed 2024.", ["numbers: 2024 not in the Russian"]),
        (
            "Тогда переносим голосование на следующую неделю.",
            "Then.",
            ["length: English 0.10 times the Russian's length"],
        ),
        (
            "Спасибо.",
            "Thank you, thank you, thank you.",
            ["repetition: «thank you» repeated"],
        ),
        ("Спасибо.", "", ["empty: no English for this sentence"]),
        # The council dev meeting's English (ru_council, dev_council_clean.mp4).
        (
            "Катильная на ремонте, работы закончит к пятнице.",
            "The cat is on the repair, the work is over for the fifth.",
            ["recognition: «катильная» not Russian words (misheard?)"],
        ),
        (
            "А если к 20-ому ничего не будет?",
            "And if there is nothing there for 20?",
            ["numbers: 20 an ordinal (a date, a rank) but not in the English"],
        ),
        (
            "Сегодня у нас 3 вопросы.",
            "Today is our third question.",
            ["numbers: 3 a count but an ordinal in the English"],
        ),
        # ... and its hard variant (overlap, noise): fragments and Whisper's stock phrases.
        (
            "говорили в прошлом.",
            "The most popular in the past.",
            ["fragment: the Russian starts mid-sentence, translated without the rest"],
        ),
        (
            "Ну, и люди",
            "I'm sorry.",
            [
                "fragment: the Russian stops mid-sentence, translated without the rest",
                "stock phrase: «sorry» has nothing like it in the Russian",
            ],
        ),
    ],
)
def test_wrong_english_is_flagged(russian, english, failed):
    assert checks(russian, english) == failed


@pytest.mark.parametrize(
    ("russian", "english"),
    [
        (
            "Расходы на ремонт дорог составят 48 миллионов рублей.",
            "Spending on road repairs will amount to 48 million roubles.",
        ),
        (
            "Это на 15 процентов больше, чем в прошлом году.",
            "That is fifteen percent more than last year.",
        ),
        (
            "Слово предоставляется Андрею Солдатову из финансового отдела.",
            "The floor goes to Andrei Soldatov from the finance department.",
        ),
        (
            "Сегодня на повестке бюджет Старобельска.",
            "Today the agenda is the budget of Starobelsk.",
        ),
        ("Мы не согласны с этим решением.", "We do not agree with this decision."),
        ("Сорок восемь миллионов рублей.", "48,000,000 roubles."),
        ("Ответственный инженер Петров, срок 20 ноября.", "Engineer Petrov, by November 20."),
        (
            "Ответственный инженер Петров, срок 20 ноября.",
            "Engineer Petrov, by the 20th of November.",
        ),
        ("А если к 20-ому ничего не будет?", "And if nothing is done by the twentieth?"),
        ("Извините, я опоздал.", "I'm sorry, I'm late."),
        # Recorded prompts (asterisk's sorry-youre-having-problems, vm-forward): «жаль» is
        # sorry, and «один» is the English 1.
        ("Нам очень жаль, что у вас проблемы.", "We are very sorry that you have problems."),
        (
            "Нажмите один, чтобы ввести номер, или нажмите 2, чтобы воспользоваться справочником.",
            "Press 1 to enter a number, or press 2 to use the directory.",
        ),
        # The hard dev meeting's English: «No.» is the number sign, not a negation.
        (
            "Тогда приходите ко мне лично в кабинет номер 8.",
            "then you come to me personally to the Cabinet No. 8.",
        ),
    ],
)
def test_right_english_passes(russian, english):
    assert checks(russian, english) == []


def test_low_engine_confidence_is_flagged_and_unknown_confidence_is_not():
    russian, english = "Руководитель покинул конференцию.", "The leader has left the conference."
    assert checks(russian, english, confidence=-1.6) == [
        "confidence: the engine's -1.60 is below -1.0"
    ]
    assert checks(russian, english, confidence=-0.2) == []
    assert checks(russian, english) == []


def _scored(russian: str, english: str, scores: list[float]) -> list[str] | None:
    """Checks of English whose engine scored each word (Whisper's translate task)."""
    mean = sum(scores) / len(scores)
    sentence = Sentence(0, 0.0, 1.0, None, russian, 0, 1, english, mean, scores)
    check_sentences([sentence], CheckOptions(), GLOSSARY, known_word=RUSSIAN_WORDS)
    return sentence.checks


def test_whisper_english_is_flagged_at_the_word_whisper_was_least_sure_of():
    # Word scores as the CTranslate2 engine gave them on ru_council (int8, beam 5): a wrong
    # word that every text check passes.
    assert _scored(
        "Добрый вечер, начинаем заседание, сегодня у нас три вопросы.",
        "Good evening. Let's start the wedding. Today we have three questions.",
        [-0.14, -0.01, -1.6, -0.47, -0.94, -2.34, -0.25, -0.6, -0.36, -0.09, -0.09],
    ) == ["confidence: the engine was unsure of «wedding»"]
    # A right line: its least likely word («have», -1.79) is not that doubtful.
    assert (
        _scored(
            "Вы тоже самое говорили в прошлом месяце.",
            "You have also said in the past month.",
            [-0.1, -1.79, -0.49, -1.15, -0.89, -0.17, -0.4, -0.27],
        )
        == []
    )


def test_first_words_numbers_and_names_do_not_count_as_doubt():
    # Whisper is unsure how to start a sentence and how to spell a name; names and numbers
    # have their own checks. Right lines of the hard ru_council clip, as scored there.
    assert (
        _scored(
            "Тогда приходите ко мне лично в кабинет номер 8.",
            "then you come to me personally to the Cabinet No. 8.",
            [-0.6, -1.9, -1.61, -0.31, -0.61, -0.03, -0.32, -0.19, -3.31, -1.64, -0.05],
        )
        == []
    )
    assert (
        _scored(
            "Ответственный инженер Петров, срок, 20 ноября.",
            "The responsible engineer, Petrov, SROG, 20th of November.",
            [-2.24, -1.81, -0.31, -0.4, -3.44, -1.38, -0.75, -0.45],
        )
        == []
    )


def test_word_scores_that_no_longer_match_the_words_fall_back_to_the_mean():
    sentence = Sentence(0, 0.0, 1.0, None, "Спасибо.", 0, 1, "Thank you.", -1.6, [-3.0])
    check_sentences([sentence], CheckOptions(), GLOSSARY, known_word=RUSSIAN_WORDS)
    assert sentence.checks == ["confidence: the engine's -1.60 is below -1.0"]


def test_no_english_is_not_checked_and_the_summary_counts_only_english():
    sentences = [Sentence(i, 0.0, 1.0, None, "Спасибо.", 0, 1) for i in range(3)]
    check_sentences(sentences, CheckOptions(), [])
    assert [s.checks for s in sentences] == [None, None, None]
    assert summarise_checks(sentences) is None
    sentences[0].translation, sentences[1].translation = "Thank you.", "Thanks thanks thanks"
    check_sentences(sentences, CheckOptions(), [])
    assert summarise_checks(sentences).startswith("1 of 2 English sentences need checking")


def test_only_russian_is_read_as_russian():
    sentence = Sentence(0, 0, 1, None, "Zdes ne bylo nichego.", 0, 1, translation="Nothing here.")
    assert check_sentence(sentence, CheckOptions(), [], language="uk") == []


def test_digit_groups_that_are_no_one_number_are_read_one_by_one():
    # A 10-minute bench input of asterisk prompts stopped with InvalidOperation here: a run of
    # digits with several separators was read as one decimal number.
    assert russian_numbers("кабинеты 1,5,6 и 12.30.45") == {"1", "5", "6", "12", "30", "45"}
    assert english_numbers("rooms 1,5,6") == {"1", "5", "6"}
    assert russian_numbers("1,000,000 рублей") == {"1000000"}


def test_numbers_are_read_as_digits_words_and_scales():
    assert russian_numbers("в 2025 году двадцать пять человек, 1,5 тысячи рублей") == {
        "2025",
        "25",
        "1.5 thousand",
    }
    assert english_numbers("in 2025 twenty-five people, 1.5 thousand roubles") == {
        "2025",
        "25",
        "1.5 thousand",
    }
    assert (
        check_sentence(
            Sentence(0, 0, 1, None, "Один из них.", 0, 1, translation="One of them."),
            CheckOptions(),
            [],
        )
        == []
    )
