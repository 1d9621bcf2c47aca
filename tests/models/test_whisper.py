"""Whisper's English word by word: each word's log-probability from its tokens."""

import whisper

from pipeline.models.whisper import spans_from_tokens, word_logprobs

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
