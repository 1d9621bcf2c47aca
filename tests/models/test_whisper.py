"""Whisper's English word by word: each word's log-probability from its tokens; and an
English decode that loops, decoded again."""

import whisper
from faster_whisper.transcribe import get_compression_ratio

from pipeline.config import AsrOptions
from pipeline.models.whisper import spans_from_tokens, word_logprobs
from pipeline.stages.asr import recognise
from pipeline.stages.audio import load_audio
from pipeline.types import SpeechRegion
from tests import support

TOKENIZER = whisper.tokenizer.get_tokenizer(True, language="ru", task="translate")


def _tokens(text: str) -> list[int]:
    return TOKENIZER.encode(text)


def test_a_word_sums_its_tokens_and_leaves_out_punctuation():
    tokens = _tokens(" Let's start the Starobelsk meeting.")
    pieces = [TOKENIZER.decode([token]) for token in tokens]
    assert len(tokens) > 6  # «Let's» and «Starobelsk» are several tokens each
    scores = [-0.1 * (i + 1) for i in range(len(tokens))]
    words = word_logprobs(tokens, scores, TOKENIZER.decode)
    assert len(words) == 5  # Let's, start, the, Starobelsk, meeting.
    expected_by_word: list[float] = []
    text = ""
    for piece, score in zip(pieces, scores, strict=True):
        text += piece
        if len(text.split()) > len(expected_by_word):
            expected_by_word.append(0.0)
        if piece.strip() != ".":
            expected_by_word[-1] += score
    assert words == [round(value, 4) for value in expected_by_word]
    assert pieces[-1] == "." and words[-1] == round(scores[-2], 4)  # «meeting» alone


def test_spans_carry_the_log_probabilities_of_their_own_words():
    begin = TOKENIZER.timestamp_begin
    first, second = _tokens(" Good evening."), _tokens(" Today we have three questions.")
    tokens = [begin, *first, begin + 100, begin + 100, *second, begin + 250]
    scores = [-0.5] * (len(first) + len(second))
    spans = spans_from_tokens(tokens, begin, TOKENIZER.decode, -0.5, 6.0, scores)
    assert [(s.start, s.end, s.text) for s in spans] == [
        (0.0, 2.0, "Good evening."),
        (2.0, 5.0, "Today we have three questions."),
    ]
    assert [s.word_logprobs for s in spans] == [[-0.5, -0.5], [-0.5] * 5]
    unscored = spans_from_tokens(tokens, begin, TOKENIZER.decode, -0.5, 6.0)
    assert all(s.word_logprobs is None and s.avg_logprob == -0.5 for s in unscored)


def test_an_english_decode_that_loops_is_decoded_again_at_the_fallback_temperatures(models):
    """A real loop: the default model's English of this window of a recorded prompt (five
    "press N to ..." instructions) repeats «to the ring of the opponent» until the decoder's
    length limit and never reaches «press 5». Whisper's own fallback undoes it."""
    audio = load_audio(support.ASTERISK_RU / "priv-callee-options.wav")
    window = [SpeechRegion(15.264, 40.447)]  # the pipeline's speech window here

    def english(temperatures):
        options = AsrOptions(temperatures=temperatures)
        result = recognise(
            audio.samples, window, models.whisper, options, progress=False, english_beam=2
        )
        return " ".join(span.text for span in result.english)

    looping = english([0.0])
    assert get_compression_ratio(looping) > 2.4 and "5" not in looping
    fallback = english([0.0, 0.2, 0.4])
    assert get_compression_ratio(fallback) < 3.0 and "5" in fallback
