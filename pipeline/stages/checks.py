"""Per-sentence checks of the English: where a reader should not trust a line.

A machine translation can be fluent and wrong. These checks compare each
sentence's English with its Russian on things a wrong translation tends to
break, whatever the engine: numbers, negation, names, length, the engine's own
confidence where it gives one, and phrases repeated in a decoding loop; and they
flag where the English is likely wrong because its input was: Russian words no
dictionary knows (misheard speech), sentence fragments translated alone, and the
stock phrases Whisper writes for unclear audio. Each failed check becomes one
`"<check>: <detail>"` entry of `Sentence.checks`; an empty list means every check
passed, None that the sentence has no English. They flag lines to verify; they do
not prove a line right or wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal

from anyascii import anyascii
from num2words import num2words
from rapidfuzz import fuzz

from pipeline.config import CheckOptions
from pipeline.types import Sentence

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_ENDS = (".", "!", "?", "…", "»", '"')
# English that Whisper's translate task writes for unclear audio -> Russian stems that say it.
_STOCK_PHRASES = {
    "sorry": ("извин", "прост", "сожале", "жаль", "жалк"),
    "thank": ("спасиб", "благодар"),
    "bye": ("свидан", "пока", "прощай"),
}
# «20-ому», «5-го», «1-й»: digits with an ordinal ending (dates, ranks).
_RU_ORDINAL = re.compile(r"(\d+)-(?:ы?й|ой|ий|ая|ое|ые|о?го|о?му|ым|ом|ую|ых|ыми|я|е|х|м)\b")
_RU_DATE = re.compile(
    r"(\d+)\s+(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
)
_EN_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_EDGE_PUNCTUATION = "\"'.,;:!?…()«»“”"
_NUMBER_SIGN = re.compile(r"\bNo\.\s*(?=\d)")
_CAPITALISED = re.compile(r"\b[А-ЯЁ][а-яё]{2,}(?:-[А-ЯЁ][а-яё]+)?\b")

# «один» in every gender and case: too often not a number to be missed in the English
# («один из», «одна и та же»), but an English 1 may come from it («Нажмите один» -> "Press 1").
_RU_ONE = frozenset(
    ["один", "одна", "одно", "одни", "одного", "одной", "одному", "одним", "одном", "одну"]
)
# Russian number words, every case form, by value (1 left out: see _RU_ONE).
_RU_NUMBERS: dict[str, int] = {}
for _value, _forms in {
    2: "два две двух двум двумя",
    3: "три трех трем тремя",
    4: "четыре четырех четырем четырьмя",
    5: "пять пяти пятью",
    6: "шесть шести шестью",
    7: "семь семи",
    8: "восемь восьми восемью",
    9: "девять девяти девятью",
    10: "десять десяти десятью",
    11: "одиннадцать одиннадцати",
    12: "двенадцать двенадцати",
    13: "тринадцать тринадцати",
    14: "четырнадцать четырнадцати",
    15: "пятнадцать пятнадцати",
    16: "шестнадцать шестнадцати",
    17: "семнадцать семнадцати",
    18: "восемнадцать восемнадцати",
    19: "девятнадцать девятнадцати",
    20: "двадцать двадцати",
    30: "тридцать тридцати",
    40: "сорок сорока",
    50: "пятьдесят пятидесяти",
    60: "шестьдесят шестидесяти",
    70: "семьдесят семидесяти",
    80: "восемьдесят восьмидесяти",
    90: "девяносто девяноста",
    100: "сто ста",
    200: "двести двухсот",
    300: "триста трехсот",
    400: "четыреста четырехсот",
    500: "пятьсот пятисот",
    600: "шестьсот шестисот",
    700: "семьсот семисот",
    800: "восемьсот восьмисот",
    900: "девятьсот девятисот",
}.items():
    _RU_NUMBERS.update(dict.fromkeys(_forms.split(), _value))

# English number words from two up ("one" is mostly not a number: "no one", "this one").
_EN_NUMBERS = {num2words(n, lang="en"): n for n in [*range(2, 20), *range(20, 100, 10)]}
_EN_HUNDRED = {"hundred", "hundreds"}

# Scale words: a number carried over keeps its scale («48 миллионов» = 48 million).
_SCALES = {"тысяч": "thousand", "миллион": "million", "миллиард": "billion"}
_MULTIPLIERS = {"thousand": 10**3, "million": 10**6, "billion": 10**9}

_RU_NEGATION = re.compile(
    r"^(не|нет|ни|нельзя|никто|никого|никому|ничего|ничто|ничем|ничему|никогда|нигде|никуда|"
    r"никак|никакой|никакая|никакое|никакие|никакого|никаких|ниоткуда)$"
)
_EN_NEGATION = re.compile(
    r"^(not|no|never|nothing|nobody|none|nowhere|neither|nor|cannot|without|"
    r"\w+n't|\w+n’t)$"
)


def check_sentences(
    sentences: Iterable[Sentence],
    options: CheckOptions,
    glossary: list[str],
    language: str = "ru",
    known_word: Callable[[str], bool] | None = None,
) -> None:
    """Fill in `checks` of every sentence that has English (spoken `language`: the checks
    that read Russian words run on Russian only; `known_word`, the Russian dictionary,
    for the misheard-word check, which does not run without it)."""
    for sentence in sentences:
        if sentence.translation is None:
            sentence.checks = None
            continue
        sentence.checks = check_sentence(sentence, options, glossary, language, known_word)


def check_sentence(
    sentence: Sentence,
    options: CheckOptions,
    glossary: list[str],
    language: str = "ru",
    known_word: Callable[[str], bool] | None = None,
) -> list[str]:
    """The failed checks of one sentence, as `"<check>: <detail>"`."""
    russian, english = sentence.text, (sentence.translation or "").strip()
    if not english:
        return ["empty: no English for this sentence"]
    in_russian = language == "ru"
    found = [
        _numbers(russian, english, in_russian),
        _negation(russian, english) if in_russian else None,
        _names(russian, english, glossary),
        _recognition(russian, glossary, known_word) if in_russian and known_word else None,
        _fragment(russian),
        _stock_phrase(russian, english) if in_russian else None,
        _length(russian, english, options),
        _confidence(sentence, options),
        _repetition(english),
    ]
    return [problem for problem in found if problem]


def summarise_checks(sentences: list[Sentence]) -> str | None:
    """ "N of M English sentences need checking", or None when nothing was translated."""
    english = [s for s in sentences if s.checks is not None]
    if not english:
        return None
    flagged = sum(bool(s.checks) for s in english)
    return (
        f"{flagged} of {len(english)} English sentences need checking against the Russian "
        "(machine translation; the JSON's sentences[].checks and the TSV's checks column "
        "say why)"
    )


def _words(text: str) -> list[str]:
    return [word.lower().replace("ё", "е") for word in _WORD.findall(text)]


def _numbers(russian: str, english: str, words: bool = True) -> str | None:
    """Numbers of the Russian missing from the English, or counted where they ranked (or
    the reverse), and digits in the English that the Russian does not have."""
    wanted = _numbers_in(russian, True, words)
    counted = _numbers_in(english, False)
    ordinals = {Decimal(n) for n in _english_ordinals(english)}
    ranked = {Decimal(n) for n in _RU_ORDINAL.findall(russian)}
    dates = {Decimal(n) for n in _RU_DATE.findall(russian)}  # "November 20" or "20th" both fine
    details = []
    for value, shown in wanted.items():
        if value not in counted and value not in ordinals:
            details.append(f"{shown} missing")
        elif value in ranked and value not in ordinals:
            details.append(f"{shown} an ordinal (a date, a rank) but not in the English")
        elif value not in ranked | dates and value not in counted:
            details.append(f"{shown} a count but an ordinal in the English")
    digits = _numbers_in(english, False, words=False)
    if _RU_ONE & set(_words(russian)):
        wanted = {**wanted, Decimal(1): "1"}
    details += [
        f"{shown} not in the Russian" for value, shown in digits.items() if value not in wanted
    ]
    return "numbers: " + ", ".join(details) if details else None


def _english_ordinals(english: str) -> set[str]:
    """Digits written as ordinals in English: "20th", or "twentieth" as 20."""
    found = set(_EN_ORDINAL.findall(english))
    lowered = english.lower()
    found |= {str(n) for n in range(1, 32) if num2words(n, to="ordinal", lang="en") in lowered}
    return found


def russian_numbers(text: str) -> set[str]:
    """Numbers in Russian text, digits or words, each with its scale («48 миллионов»)."""
    return set(_numbers_in(text, russian=True).values())


def english_numbers(text: str) -> set[str]:
    """Numbers in English text, digits or words from two up, each with its scale."""
    return set(_numbers_in(text, russian=False).values())


def _numbers_in(text: str, russian: bool, words: bool = True) -> dict[Decimal, str]:
    """Each number's value (its scale applied) -> how to show it ("48 million")."""
    table, hundreds = (
        (_RU_NUMBERS, set()) if russian else (_EN_NUMBERS, _EN_HUNDRED) if words else ({}, set())
    )
    tokens = _number_tokens(text)
    found: dict[Decimal, str] = {}
    index = 0
    while index < len(tokens):
        value, index = _read_number(tokens, index, table, hundreds)
        if value is None:
            index += 1
            continue
        scale = _scale_after(tokens, index, russian)
        amount = Decimal(value) * _MULTIPLIERS.get(scale or "", 1)
        found.setdefault(amount.normalize(), f"{value} {scale}" if scale else value)
    return found


def _number_tokens(text: str) -> list[str]:
    """The words of `text`, a run of digits with several separators that is no one number
    («1,5,6», «12.30.45»: a list, a time, a date) split into its digit groups."""
    tokens = []
    for token in _words(text):
        several = token[0].isdigit() and _plain_digits(token).count(".") > 1
        tokens += re.split(r"[.,]", token) if several else [token]
    return tokens


def _read_number(
    words: list[str], index: int, table: dict[str, int], hundreds: set[str]
) -> tuple[str | None, int]:
    """The number starting at `words[index]` (digits, or number words added up)."""
    word = words[index]
    if word[0].isdigit():
        return _plain_digits(word), index + 1
    total, seen = 0, False
    while index < len(words):
        word = words[index]
        parts = word.split("-")
        if all(part in table for part in parts):
            total += sum(table[part] for part in parts)
        elif seen and word in hundreds:
            total *= 100
        else:
            break
        seen, index = True, index + 1
    return (str(total) if seen else None), index


def _plain_digits(word: str) -> str:
    """The number as digits: thousands separators dropped, a decimal comma as a point."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", word):
        return word.replace(",", "").replace(".", "")
    return word.replace(",", ".")


def _scale_after(words: list[str], index: int, russian: bool) -> str | None:
    if index >= len(words):
        return None
    word = words[index]
    for stem, english in _SCALES.items():
        if word.startswith(stem) if russian else word.rstrip("s") == english:
            return english
    return None


def _negation(russian: str, english: str) -> str | None:
    in_russian = any(_RU_NEGATION.match(word) for word in _words(russian))
    english = _NUMBER_SIGN.sub(" ", english)  # «Cabinet No. 8» says no «no»
    in_english = any(_EN_NEGATION.match(word) for word in _words(english))
    if in_russian == in_english:
        return None
    side = "Russian" if in_russian else "English"
    return f"negation: only the {side} is negative"


def _names(russian: str, english: str, glossary: list[str]) -> str | None:
    english_text = anyascii(english).lower()
    missing = [name for name in _names_in(russian, glossary) if not _carried(name, english_text)]
    return "names: " + ", ".join(missing) + " not in the English" if missing else None


def _names_in(russian: str, glossary: list[str]) -> list[str]:
    """Glossary terms found in the Russian, and capitalised words not starting a sentence."""
    lowered = russian.lower()
    names = [term for term in glossary if _stem(term).lower() in lowered]
    for match in _CAPITALISED.finditer(russian):
        before = russian[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?…"
        word = match.group()
        if not starts_sentence and not any(_stem(name) in word for name in names):
            names.append(word)
    return names


def _recognition(
    russian: str, glossary: list[str], known_word: Callable[[str], bool]
) -> str | None:
    """Words that are no Russian word: misheard speech, so its English is likely wrong too."""
    names = [_stem(name).lower() for name in _names_in(russian, glossary)]
    unknown = [
        word
        for word in _words(russian)
        if len(word) > 2
        and word.isalpha()
        and not any(name in word for name in names)
        and not known_word(word)
    ]
    if not unknown:
        return None
    return "recognition: " + ", ".join(f"«{w}»" for w in unknown) + " not Russian words (misheard?)"


def _fragment(russian: str) -> str | None:
    """Part of a sentence (cut by a change of speaker or a pause), translated without the rest."""
    text = russian.strip()
    starts_inside = text[:1].islower()
    stops_inside = not text.endswith(_SENTENCE_ENDS)
    if not (starts_inside or stops_inside):
        return None
    where = "starts" if starts_inside else "stops"
    return f"fragment: the Russian {where} mid-sentence, translated without the rest"


def _stock_phrase(russian: str, english: str) -> str | None:
    """A stock phrase Whisper puts where it hears nothing clear, but the Russian lacks it."""
    lowered, words = english.lower(), _words(russian)
    for phrase, stems in _STOCK_PHRASES.items():
        if phrase in lowered and not any(w.startswith(stems) for w in words):
            return f"stock phrase: «{phrase}» has nothing like it in the Russian"
    return None


def _stem(word: str) -> str:
    """A Russian name without its case ending: «Солдатову» -> «Солдатов»."""
    return word if len(word) <= 4 else word[: max(4, len(word) - 2)]


def _carried(name: str, english: str) -> bool:
    latin = anyascii(_stem(name)).lower().replace("'", "")
    return fuzz.partial_ratio(latin, english) >= 80


def _length(russian: str, english: str, options: CheckOptions) -> str | None:
    if len(russian) < options.length_min_chars:
        return None
    ratio = len(english) / len(russian)
    if options.min_length_ratio <= ratio <= options.max_length_ratio:
        return None
    return f"length: English {ratio:.2f} times the Russian's length"


def _confidence(sentence: Sentence, options: CheckOptions) -> str | None:
    """The engine's own doubt: where it scored each word (Whisper), the word it was least
    sure of; else its mean over the sentence (Argos)."""
    english, scores = sentence.translation or "", sentence.translation_word_logprobs
    if scores is not None and len(scores) == len(english.split()):
        return _least_likely_word(english, scores, options.min_word_logprob)
    confidence = sentence.translation_confidence
    if confidence is None or confidence >= options.min_confidence:
        return None
    return f"confidence: the engine's {confidence:.2f} is below {options.min_confidence}"


def _least_likely_word(english: str, scores: list[float], least: float) -> str | None:
    """The word of lowest log-probability below `least`, among the words no other check
    reads: a sentence's first word (Whisper is often unsure how to start, not of what is
    said), numbers and capitalised names (checked against the Russian, and spelt many
    ways) are left out."""
    candidates = [
        (logprob, word.strip(_EDGE_PUNCTUATION))
        for position, (word, logprob) in enumerate(zip(english.split(), scores, strict=True))
        if position > 0 and not any(c.isdigit() for c in word) and not word[:1].isupper()
    ]
    logprob, word = min(candidates, default=(0.0, ""))
    if logprob >= least:
        return None
    # The score itself is in translation_word_logprobs: the thread count moves it slightly.
    return f"confidence: the engine was unsure of «{word}»"


def _repetition(english: str) -> str | None:
    words = _words(english)
    for size in range(1, 7):
        least = 3 if size == 1 else 2
        for first in range(len(words) - size * least + 1):
            phrase = words[first : first + size]
            if all(
                words[first + k * size : first + (k + 1) * size] == phrase for k in range(least)
            ):
                return f"repetition: «{' '.join(phrase)}» repeated"
    return None
