from pipeline.repeats import collapse_text_loops


def test_a_translation_loop_is_cut_back_to_one_copy():
    looped = "The city of the city of the city of the city of the city of the city."
    assert collapse_text_loops(looped, 3) == "The city of the city."


def test_a_word_loop_keeps_the_words_around_it():
    looped = "No, " + "no, " * 9 + "I said."
    assert collapse_text_loops(looped, 3) == "No, I said."


def test_ordinary_text_is_left_exactly_as_it_was():
    text = "Yes,  yes, yes. That is  what I said."
    assert collapse_text_loops(text, 3) == text
