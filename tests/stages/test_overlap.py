"""Overlapped speech: two real recorded prompts mixed with a known overlap come back as
two speakers' words and one dialogue cue.

The two prompts are read by the same recorded voice; the second one is lowered in pitch
(same tempo) to sound like another speaker, as loud, and started before the first ends, as
when someone shouts over the end of another's line. The turns are those of the mix (made
here, from where each voice is audible), standing in for the diarizer, which has its own
tests.
"""

from __future__ import annotations

import gzip

import jiwer
import numpy as np
import pytest

from pipeline.config import (
    Config,
    DiarizationOptions,
    OutputOptions,
    OverlapOptions,
)
from pipeline.run import window_decoder
from pipeline.stages.asr import recognise
from pipeline.stages.attribution import apply_recovery, attribute_segments
from pipeline.stages.overlap import overlaps, recover_overlaps
from pipeline.stages.sentences import build_sentences
from pipeline.stages.subtitles import build_tracks
from pipeline.text import normalise
from pipeline.types import SAMPLE_RATE, Recovery, SpeakerTurn, SpeechRegion, Word
from tests import support

LOUD, UNDER = "check-number-dial-again", "all-circuits-busy-now"  # first, second speaker
ASTERISK_EN_TEXT = (
    support.ASTERISK_RU_TEXT.parent.parent / "asterisk-core-sounds-en/core-sounds-en.txt.gz"
)
LOUD_START, UNDER_START = 0.5, 1.8  # seconds: the second voice starts 1.8 s before the first ends


def _prompt(name: str, tmp_path, pitch: float = 1.0) -> np.ndarray:
    raw = tmp_path / f"{name}.f32"
    wav = support.ASTERISK_RU / f"{name}.wav"  # 8 kHz
    lowered = f"asetrate={int(8000 * pitch)},atempo={1 / pitch:.4f},aresample={SAMPLE_RATE}"
    support.ffmpeg("-i", wav, "-af", lowered, "-ac", "1", "-f", "f32le", raw)
    return np.fromfile(raw, dtype=np.float32)


# Beam search only: the temperature fallback samples (with CTranslate2's generator, one per
# worker thread), so on this mix, which falls back, two runs could hear different words.
UNSAMPLED = Config()
UNSAMPLED.asr.temperatures = [0.0]


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("overlap")
    loud = _prompt(LOUD, tmp_path)
    under = _prompt(UNDER, tmp_path, pitch=0.8)
    samples = np.zeros(int((UNDER_START + 1.0) * SAMPLE_RATE) + len(under), np.float32)
    for start, voice in ((LOUD_START, loud), (UNDER_START, under)):
        at = int(start * SAMPLE_RATE)
        samples[at : at + len(voice)] += voice
    turns = [_turn(loud, LOUD_START, "A"), _turn(under, UNDER_START, "B")]
    return samples, turns


def _turn(voice: np.ndarray, start: float, speaker: str) -> SpeakerTurn:
    """From the first to the last sample of `voice` above 5 % of its peak."""
    audible = np.flatnonzero(np.abs(voice) > 0.05 * np.abs(voice).max())
    first, last = (start + audible[[0, -1]] / SAMPLE_RATE).round(3)
    return SpeakerTurn(float(first), float(last), speaker)


@pytest.fixture(scope="module")
def heard(mix, models):
    """The first pass, as the pipeline makes it: the whole stretch decoded at once."""
    samples, _ = mix
    window = SpeechRegion(0.0, len(samples) / SAMPLE_RATE)
    return recognise(samples, [window], models.whisper, UNSAMPLED.asr, 0.0, False).segments


@pytest.fixture(scope="module")
def result(mix, heard, models):
    samples, turns = mix
    decode = window_decoder(lambda: samples, 0.0, UNSAMPLED, models)
    recovery = recover_overlaps(heard, turns, decode, OverlapOptions())
    gate = DiarizationOptions()
    attributed = attribute_segments(heard, _exclusive(turns), gate.min_turn_words, gate.keep_share)
    return recovery, apply_recovery(attributed, recovery)


def _exclusive(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """One speaker at a time, as pyannote's exclusive view gives it: the first keeps the
    overlap."""
    loud, under = turns
    return [loud, SpeakerTurn(loud.end, under.end, under.speaker)]


def _texts() -> tuple[str, str]:
    texts = support.prompt_texts()
    return texts[LOUD], texts[UNDER]


def _hits(reference: str, words: list[Word]) -> int:
    said = normalise(" ".join(w.text for w in words))
    return jiwer.process_words(normalise(reference), said).hits if said else 0


def test_overlapped_turns_are_found_only_between_two_speakers():
    a, b, a2 = SpeakerTurn(0, 3, "A"), SpeakerTurn(2.5, 5, "B"), SpeakerTurn(4.9, 6, "A")
    assert overlaps([a, b, a2], 0.3) == [(a, b)]
    assert overlaps([a, SpeakerTurn(2.9, 4, "A")], 0.0) == []


def test_both_speakers_words_come_back_each_to_its_speaker(mix, result):
    _, turns = mix
    _, segments = result
    words = [w for s in segments for w in s.words]
    loud_text, under_text = _texts()
    by_speaker = {s: [w for w in words if w.speaker == s] for s in ("A", "B")}
    # The first line's start is recognised, for its speaker (the rest is drowned by the
    # second voice); the second one comes back, in its own turn, as far as Whisper base hears
    # a line that starts over another voice (here "На данный момент …").
    assert _hits(loud_text, by_speaker["A"]) >= 3
    assert _hits(under_text, by_speaker["B"]) >= 2
    assert all(
        turns[1].start - 0.3 <= w.start <= w.end <= turns[1].end + 0.3 for w in by_speaker["B"]
    )
    # ... and neither line is given to the other speaker.
    assert _hits(under_text, by_speaker["A"]) <= 1
    assert _hits(loud_text, by_speaker["B"]) <= 1


def test_the_first_pass_alone_loses_the_second_line(mix, heard):
    """The case of the issue: without the overlap stage the second speaker says nothing
    (what the first pass heard of them went to the first speaker)."""
    _, turns = mix
    gate = DiarizationOptions()
    attributed = attribute_segments(heard, _exclusive(turns), gate.min_turn_words, gate.keep_share)
    alone = apply_recovery(attributed, Recovery())
    assert not [w for s in alone for w in s.words if w.speaker == "B"]


def test_recovered_words_are_marked_and_never_repeat_a_heard_word(result, heard):
    recovery, segments = result
    heard_words = [w for s in heard for w in s.words]
    for segment in recovery.segments:
        assert len({w.speaker for w in segment.words}) == 1
        for word in segment.words:
            assert word.recovered
            assert not any(
                normalise(w.text) == normalise(word.text) and abs(w.start - word.start) < 1.0
                for w in heard_words
            )
    words = [w for s in segments for w in s.words]
    assert sum(w.recovered for w in words) == sum(len(s.words) for s in recovery.segments)


def test_an_overlap_gives_a_dialogue_cue_in_every_track(result):
    _, segments = result
    words = [w for s in segments for w in s.words]
    sentences = build_sentences(segments)
    english = dict(_english())
    for sentence in sentences:  # the prompts' own English, each once, on its first sentence
        sentence.translation = english.pop(sentence.speaker, "")
    tracks, _ = build_tracks(words, sentences, "ru", "en", OutputOptions(), None, None)
    for track in ("ru", "en", "ru-en"):
        dialogues = [cue for cue in tracks[track] if cue.is_dialogue]
        assert dialogues, (track, [c.lines for c in tracks[track]])
        for cue in dialogues:
            assert set(cue.line_speakers) == {"A", "B"}
            assert all(line.startswith("-") for line in cue.lines)


def _english() -> list[tuple[str, str]]:
    texts = {}
    with gzip.open(ASTERISK_EN_TEXT, "rt", encoding="utf-8") as handle:
        for line in handle:
            key, sep, text = line.partition(": ")
            if sep:
                texts[key.strip()] = text.strip()
    return [("A", texts[LOUD]), ("B", texts[UNDER])]


def test_turns_decoded_two_at_a_time_recover_what_one_at_a_time_does(mix, heard, result, models):
    """The default run decodes the two overlapped turns at once (`runtime.parallel`)."""
    samples, turns = mix
    assert models.whisper.concurrent_calls == 2
    sequential = UNSAMPLED.model_copy(deep=True)
    sequential.runtime.parallel = False
    decode = window_decoder(lambda: samples, 0.0, sequential, models)
    one_at_a_time = recover_overlaps(heard, turns, decode, OverlapOptions())
    two_at_a_time, _ = result
    assert two_at_a_time.segments and two_at_a_time == one_at_a_time


def test_turned_off_it_recovers_nothing(mix, heard, models):
    samples, turns = mix
    options = OverlapOptions(enabled=False)
    decode = window_decoder(lambda: samples, 0.0, UNSAMPLED, models)
    recovery = recover_overlaps(heard, turns, decode, options)
    assert recovery.segments == [] and recovery.reassigned == []
