import itertools

import numpy as np
import pytest

from pipeline.config import AsrOptions, Config, VadOptions
from pipeline.run import NO_SPEECH, process_clip
from pipeline.stages.asr import collapse_repeats, normalise, recognise
from pipeline.stages.audio import load_audio
from pipeline.types import SAMPLE_RATE, SpeechRegion, Word
from tests import support
from tests.support import word_error_rate

# Whisper base, Russian WER: 28.8 % on Common Voice 9 and 20.5 % on FLEURS (Whisper
# paper). On these 12 clean studio prompts (84 words, 8 kHz telephone audio) the
# pipeline measured 15.5 % with the defaults. 25 % leaves room for small numeric
# differences between machines while still catching a broken model conversion,
# lost windows or misplaced VAD (each of which pushes WER far above 30 %).
PROMPTS_WER_BOUND = 0.25


@pytest.fixture(scope="module")
def prompts_transcript(prompts_wav, models):
    return process_clip(prompts_wav, Config(), models, progress=False)


def test_real_russian_speech_is_transcribed_within_the_measured_bound(
    prompts_transcript, prompts_reference
):
    hypothesis = " ".join(segment.text for segment in prompts_transcript.segments)
    assert word_error_rate(prompts_reference, hypothesis) <= PROMPTS_WER_BOUND
    assert prompts_transcript.language == "ru"


def test_word_times_lie_inside_the_audio_and_in_order(prompts_transcript):
    words = prompts_transcript.words
    duration = prompts_transcript.source.duration
    assert len(words) > 50
    assert all(0.0 <= w.start <= w.end <= duration for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert all(0.0 <= w.probability <= 1.0 for w in words)


def test_segments_keep_their_decoding_scores(prompts_transcript):
    for segment in prompts_transcript.segments:
        assert segment.avg_logprob is not None and segment.avg_logprob < 0
        assert segment.no_speech_prob is not None and 0 <= segment.no_speech_prob <= 1
        assert segment.words and segment.start <= segment.words[0].start


def _write_wav(path, samples):
    from tests.support import ffmpeg

    raw = path.with_suffix(".f32")
    raw.write_bytes(samples.astype(np.float32).tobytes())
    ffmpeg("-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", raw, path)
    return path


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_give_no_text(kind, tmp_path, models):
    rng = np.random.default_rng(0)
    samples = np.zeros(10 * SAMPLE_RATE)
    if kind == "noise":
        samples = rng.normal(0, 0.05, 10 * SAMPLE_RATE)
    clip = _write_wav(tmp_path / f"{kind}.wav", samples)

    transcript = process_clip(clip, Config(), models, progress=False)

    assert transcript.segments == []
    assert NO_SPEECH in transcript.notes


def test_a_stock_phrase_whisper_does_say_is_dropped_and_recorded(models):
    """Real speech saying «До свидания!»: kept by default, dropped once it is a stock phrase.

    Whisper does not invent a known hallucination on demand, so the filter is checked
    on a transcript that really contains a phrase, made a stock phrase by the option.
    """
    samples = load_audio(support.ASTERISK_RU / "goodbye.wav").samples
    window = [SpeechRegion(0, len(samples) / SAMPLE_RATE)]
    kept = recognise(samples, window, models.whisper, AsrOptions(), progress=False)
    assert "до свидания" in normalise(" ".join(s.text for s in kept.segments))
    assert kept.dropped == []

    stock = AsrOptions(drop_phrases=[*AsrOptions().drop_phrases, "До свидания"])
    result = recognise(samples, window, models.whisper, stock, progress=False)
    assert result.segments == []
    assert [normalise(text) for text in result.dropped] == ["до свидания"]


def test_disabled_vad_decodes_the_whole_clip(short_speech, models):
    config = Config(vad=VadOptions(enabled=False))
    transcript = process_clip(short_speech, config, models, progress=False)
    audio = load_audio(short_speech)
    assert transcript.speech_regions[0].end == pytest.approx(audio.duration, abs=0.01)
    assert "конференции" in normalise(" ".join(s.text for s in transcript.segments))


def _words(*texts):
    return [Word(t, i * 0.3, i * 0.3 + 0.2, 0.9) for i, t in enumerate(texts)]


def test_a_decoding_loop_is_cut_back_to_one_copy():
    words = _words("я", "сказал", *["нет", "нет,"] * 6, "конец")
    kept = [w.text for w in collapse_repeats(words, max_repeats=3)]
    assert kept == ["я", "сказал", "нет", "конец"] or kept == [
        "я",
        "сказал",
        "нет",
        "нет,",
        "конец",
    ]


def test_ordinary_repetition_is_kept():
    words = _words("нет", "нет", "нет", "и", "всё")
    assert [w.text for w in collapse_repeats(words, max_repeats=3)] == [
        "нет",
        "нет",
        "нет",
        "и",
        "всё",
    ]


class _PromptRecorder:
    """The real Whisper, noting the prompt each window was decoded after."""

    def __init__(self, whisper):
        self.whisper = whisper
        self.info = whisper.info
        self.prompts = []

    def decode_window(self, chunk, options, english_beam):
        self.prompts.append(options["initial_prompt"])
        return self.whisper.decode_window(chunk, options, english_beam)


@pytest.mark.parametrize("conditioned", [True, False])
def test_earlier_windows_text_prompts_the_next_only_when_asked(conditioned, models):
    samples = load_audio(support.ASTERISK_RU / "goodbye.wav").samples
    length = len(samples) / SAMPLE_RATE
    twice = np.concatenate([samples, samples])
    windows = [SpeechRegion(0, length), SpeechRegion(length, 2 * length)]
    recorder = _PromptRecorder(models.whisper)
    options = AsrOptions(condition_on_previous_window=conditioned, glossary=["Солдатов"])
    result = recognise(twice, windows, recorder, options, progress=False)

    first_text = result.segments[0].text
    assert "до свидания" in normalise(first_text)
    assert recorder.prompts[0] == "Солдатов."
    expected = f"Солдатов. {first_text}" if conditioned else "Солдатов."
    assert recorder.prompts[1] == expected
    assert "до свидания" in normalise(result.segments[-1].text)
