"""Both Whisper engines on real speech: same words, same times, the options they are given,
and the English decoded from the recognition pass's own encoder output."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.config import AsrOptions, model_cache_dir
from pipeline.models.whisper import load_whisper
from pipeline.stages.asr import normalise, recognise
from pipeline.stages.audio import load_audio
from pipeline.types import SpeechRegion
from tests import support

GREEDY = AsrOptions(beam_size=None, temperatures=[0.0])


@pytest.fixture(scope="module")
def engines(models):
    """The bundled base on each engine (CTranslate2 in float32: the .pt's own precision);
    `models` provisions it."""
    cache = model_cache_dir()
    return {
        "ctranslate2": load_whisper("base", cache, engine="ctranslate2", compute_type="float32"),
        "openai-whisper": load_whisper("base", cache, engine="openai-whisper"),
    }


@pytest.fixture(scope="module")
def two_prompts(tmp_path_factory):
    """Two recorded prompts, 0.8 s of silence around each: two speech windows."""
    out = tmp_path_factory.mktemp("engines") / "two.wav"
    support.concat_prompts(["conf-kicked", "conf-now-recording"], out)
    audio = load_audio(out)
    half = audio.duration / 2
    return audio, [SpeechRegion(0.0, half), SpeechRegion(half, audio.duration)]


def _words(engine, samples, windows, options=GREEDY):
    result = recognise(samples, windows, engine, options, progress=False)
    return [word for segment in result.segments for word in segment.words]


def test_both_engines_hear_the_same_words_at_the_same_times(engines, short_speech):
    audio = load_audio(short_speech)
    window = [SpeechRegion(0.0, audio.duration)]
    ct2 = _words(engines["ctranslate2"], audio.samples, window)
    torch_words = _words(engines["openai-whisper"], audio.samples, window)
    assert [normalise(w.text) for w in ct2] == [normalise(w.text) for w in torch_words]
    assert "конференции" in normalise(" ".join(w.text for w in ct2))
    for ours, theirs in zip(ct2, torch_words, strict=True):
        assert ours.start == pytest.approx(theirs.start, abs=0.1)
        assert ours.end == pytest.approx(theirs.end, abs=0.1)


@pytest.mark.parametrize("engine", ["ctranslate2", "openai-whisper"])
def test_the_beam_setting_reaches_the_decoder(engine, engines, short_speech, monkeypatch):
    audio = load_audio(short_speech)
    loaded = engines[engine]
    seen: list[int | None] = []
    if engine == "ctranslate2":
        real = type(loaded.model).generate_with_fallback

        def spy(self, encoder_output, prompt, tokenizer, options):
            seen.append(options.beam_size)
            return real(self, encoder_output, prompt, tokenizer, options)

        monkeypatch.setattr(type(loaded.model), "generate_with_fallback", spy)
    else:
        real = type(loaded.model).decode

        def spy(self, mel, options):
            seen.append(options.beam_size)
            return real(self, mel, options)

        monkeypatch.setattr(type(loaded.model), "decode", spy)
    window = [SpeechRegion(0.0, audio.duration)]
    words = _words(loaded, audio.samples, window, AsrOptions(beam_size=3, temperatures=[0.0]))
    assert words and seen and set(seen) == {3}


@pytest.mark.parametrize("engine", ["ctranslate2", "openai-whisper"])
def test_english_comes_from_the_same_encoder_pass(engine, engines, two_prompts):
    audio, windows = two_prompts
    loaded = engines[engine]
    before = loaded.encodings
    only_russian = recognise(audio.samples, windows, loaded, GREEDY, progress=False)
    russian_passes = loaded.encodings - before
    result = recognise(audio.samples, windows, loaded, GREEDY, progress=False, english_beam=1)

    english = " ".join(span.text for span in result.english).lower()
    assert "conference" in english
    # The English adds no encoder pass: as many as the Russian alone needed (CTranslate2:
    # one per window; openai-whisper runs the encoder again for its word alignment).
    assert loaded.encodings - before - russian_passes == russian_passes
    if engine == "ctranslate2":
        assert russian_passes == len(windows)
    assert all(windows[0].start <= s.start <= s.end <= windows[-1].end for s in result.english)
    assert all(s.avg_logprob is not None and s.avg_logprob < 0 for s in result.english)
    assert only_russian.english == [] and only_russian.segments == result.segments
    # Each English word is scored (the decode's tokens forced through the decoder once
    # more: no encoder pass, as counted above).
    for span in result.english:
        assert len(span.word_logprobs or []) == len(span.text.split())
        assert all(score <= 0 for score in span.word_logprobs or [])


def test_both_engines_score_the_same_english_alike(engines, two_prompts):
    audio, windows = two_prompts
    decoded = {
        name: recognise(audio.samples, windows, engine, GREEDY, progress=False, english_beam=1)
        for name, engine in engines.items()
    }
    ct2, torch_english = decoded["ctranslate2"].english, decoded["openai-whisper"].english
    assert [s.text for s in ct2] == [s.text for s in torch_english]
    ours = [score for s in ct2 for score in s.word_logprobs or []]
    theirs = [score for s in torch_english for score in s.word_logprobs or []]
    assert ours and len(ours) == len(theirs)
    # CTranslate2 scores the words without the timestamp tokens between them.
    assert ours == pytest.approx(theirs, abs=0.5)


def test_two_windows_decoded_at_once_hear_what_one_at_a_time_does(models, two_prompts):
    """The default CTranslate2 model decodes two windows from two threads at once (the
    overlap stage does): each keeps its own encoder output for its English."""
    audio, windows = two_prompts
    loaded = models.whisper
    assert loaded.engine == "ctranslate2" and loaded.concurrent_calls == 2

    def hear(window):
        return recognise(audio.samples, [window], loaded, GREEDY, progress=False, english_beam=1)

    one_at_a_time = [hear(window) for window in windows]
    before = loaded.encodings
    with ThreadPoolExecutor(max_workers=2) as pool:
        at_once = list(pool.map(hear, windows))
    assert at_once == one_at_a_time
    assert all(result.english and result.segments for result in at_once)
    assert loaded.encodings - before == len(windows)
