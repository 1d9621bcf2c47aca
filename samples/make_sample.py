#!/usr/bin/env python3
"""Build the bundled sample clip ``samples/council_sample.mp4``.

The clip is a short mock council meeting in Russian with two voices:

* a male "administrator" synthesised with Festival (festvox-ru,
  ``voice_msu_ru_nsh_clunits``) from lines written for this sample;
* a female voice made of real Asterisk prompts (asterisk-core-sounds-ru,
  CC BY 3.0, Ivrvoice.ru / Digium).

Every source piece is converted to 16 kHz mono, trimmed to its speech span
with a simple energy threshold, loudness-normalised and placed on a timeline
with short pauses.  The script writes, next to the clip, the reference text
(``.ru.txt``), a per-turn table with English translations (``.tsv``) and the
reference diarization (``.rttm``).  Times are the true speech spans in the
clip.

Requirements: ffmpeg (with libx264), festival + festvox-ru (``text2wave``),
asterisk-core-sounds-ru-wav, numpy.  Run: ``python samples/make_sample.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

SAMPLES_DIR = Path(__file__).resolve().parent
NAME = "council_sample"
PROMPT_DIR = Path("/usr/share/asterisk/sounds/ru")
FESTIVAL_VOICE = "(voice_msu_ru_nsh_clunits)"
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits")

RATE = 16_000  # Hz, mono, everywhere
FRAME = RATE // 100  # 10 ms analysis frames
LEAD_IN = 0.5  # s of silence before the first turn
TAIL = 0.8  # s of silence (at least) after the last turn
PROMPT_GAP = 0.25  # s between two prompts joined into one turn
TARGET_DBFS = -20.0  # RMS of the active speech frames of every turn
PEAK_LIMIT_DBFS = -1.0
# Pauses between consecutive turns (fixed, so the output is reproducible).
PAUSES = [0.6, 0.45, 0.8, 0.5, 0.7, 0.4, 0.9, 0.55]

VIDEO_SIZE = "320x180"
VIDEO_FPS = 5
VIDEO_COLOR = "0x1f2d3d"


@dataclass(frozen=True)
class Turn:
    """One speaker turn: Festival text or a list of Asterisk prompt ids."""

    voice: str  # "female" (Asterisk prompts) or "male" (Festival)
    ru: str
    en: str
    prompts: tuple[str, ...] = ()


# Female lines: Russian text as in core-sounds-ru.txt, English text of the same
# prompt ids from core-sounds-en.txt.  Male lines: written for this sample
# (numbers are written in nominative contexts so Festival inflects them right).
TURNS = [
    Turn(
        "female",
        "Здравствуйте! Конференция записывается.",
        "Hello. The conference is now being recorded.",
        ("hello", "conf-now-recording"),
    ),
    Turn(
        "male",
        "Добрый день, коллеги. Сегодня на повестке бюджет Старобельска на следующий год.",
        "Good afternoon, colleagues. Today the agenda is the budget of Starobelsk for next year.",
    ),
    Turn(
        "female",
        "Секундочку, пожалуйста.",
        "One moment, please.",
        ("one-moment-please",),
    ),
    Turn(
        "male",
        "Расходы на ремонт дорог составят 48 миллионов рублей. Это на 15"
        " процентов больше, чем в прошлом году.",
        "Spending on road repairs will amount to 48 million roubles. That is"
        " 15 percent more than last year.",
    ),
    Turn(
        "female",
        "Что-то тут совсем не так...",
        "Something is terribly wrong",
        ("tt-somethingwrong",),
    ),
    Turn(
        "male",
        "Согласен, цифры нужно проверить. Слово предоставляется Андрею"
        " Солдатову из финансового отдела.",
        "Agreed, the figures need to be checked. The floor goes to Andrei"
        " Soldatov from the finance department.",
    ),
    Turn(
        "female",
        "Руководитель покинул конференцию.",
        "The leader has left the conference.",
        ("conf-leaderhasleft",),
    ),
    Turn(
        "male",
        "Тогда переносим голосование на следующую неделю. Заседание закрыто.",
        "Then we postpone the vote until next week. The meeting is closed.",
    ),
    Turn(
        "female",
        "Спасибо. До свидания!",
        "Thank you. Goodbye!",
        ("auth-thankyou", "goodbye"),
    ),
]


def die(message: str) -> NoReturn:
    print(f"make_sample.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def check_prerequisites() -> None:
    for tool in ("ffmpeg", "text2wave"):
        if shutil.which(tool) is None:
            die(f"'{tool}' not found on PATH (Debian packages: ffmpeg, festival, festvox-ru)")
    if not FESTIVAL_VOICE_DIR.is_dir():
        die(f"Festival Russian voice not found in {FESTIVAL_VOICE_DIR} (Debian package festvox-ru)")
    missing = [
        f"{pid}.wav"
        for turn in TURNS
        for pid in turn.prompts
        if not (PROMPT_DIR / f"{pid}.wav").is_file()
    ]
    if missing:
        die(
            f"Asterisk prompts missing in {PROMPT_DIR}: {', '.join(missing)}"
            " (install Debian package asterisk-core-sounds-ru-wav)"
        )


def run(cmd: list[str]) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        die(f"command failed: {' '.join(cmd[:3])} ...: {' | '.join(tail)}")
    return result


def load_audio(path: Path) -> np.ndarray:
    """Decode any audio file to 16 kHz mono float32 with ffmpeg."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
    cmd += ["-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
    return np.frombuffer(run(cmd).stdout, dtype="<f4").astype(np.float64)


def frame_db(x: np.ndarray) -> np.ndarray:
    """RMS level (dBFS) of consecutive 10 ms frames."""
    n = len(x) // FRAME
    frames = x[: n * FRAME].reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def active_frames(x: np.ndarray) -> np.ndarray:
    """Boolean mask of frames within 40 dB of the loudest frame (and > -55 dBFS)."""
    db = frame_db(x)
    return db > max(db.max() - 40.0, -55.0)


def trim(x: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence (frame-accurate energy threshold)."""
    idx = np.flatnonzero(active_frames(x))
    if idx.size == 0:
        die("a source piece contains no audible signal")
    return x[idx[0] * FRAME : (idx[-1] + 1) * FRAME]


def normalise(x: np.ndarray) -> np.ndarray:
    """Scale so the active speech frames have TARGET_DBFS RMS; limit the peak."""
    n = len(x) // FRAME
    mask = np.repeat(active_frames(x), FRAME)
    rms = np.sqrt(np.mean(x[: n * FRAME][mask] ** 2))
    gain = 10 ** (TARGET_DBFS / 20) / rms
    peak_limit = 10 ** (PEAK_LIMIT_DBFS / 20)
    gain = min(gain, peak_limit / np.max(np.abs(x)))
    return x * gain


def festival_speech(text: str, workdir: Path, index: int) -> np.ndarray:
    """Synthesise Russian text with the festvox-ru male voice."""
    txt = workdir / f"turn{index:02d}.txt"
    out = workdir / f"turn{index:02d}.wav"
    txt.write_text(text + "\n", encoding="utf-8")  # the voice expects UTF-8
    result = run(["text2wave", "-eval", FESTIVAL_VOICE, str(txt), "-o", str(out)])
    if b"no rule matches" in result.stderr:
        die(f"festival could not read the text (encoding?): {text!r}")
    speech = trim(load_audio(out))
    # Rough plausibility check: Russian TTS speaks ~10-20 characters per second;
    # spelled-out or empty output would fall far outside this range.
    chars_per_s = len(text) / (len(speech) / RATE)
    if not 6.0 <= chars_per_s <= 30.0:
        die(f"festival output looks wrong ({chars_per_s:.1f} chars/s) for {text!r}")
    return speech


def prompt_speech(prompts: tuple[str, ...]) -> np.ndarray:
    """Concatenate trimmed Asterisk prompts with a short gap."""
    gap = np.zeros(int(PROMPT_GAP * RATE))
    pieces: list[np.ndarray] = []
    for pid in prompts:
        if pieces:
            pieces.append(gap)
        pieces.append(trim(load_audio(PROMPT_DIR / f"{pid}.wav")))
    return np.concatenate(pieces)


def build_timeline(workdir: Path) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Return the mixed signal and the (start, end) span of every turn."""
    parts = [np.zeros(int(LEAD_IN * RATE))]
    spans: list[tuple[float, float]] = []
    pos = len(parts[0])
    for i, turn in enumerate(TURNS):
        if i:
            pause = np.zeros(int(PAUSES[i - 1] * RATE))
            parts.append(pause)
            pos += len(pause)
        if turn.voice == "male":
            speech = festival_speech(turn.ru, workdir, i)
        else:
            speech = prompt_speech(turn.prompts)
        speech = normalise(speech)
        spans.append((pos / RATE, (pos + len(speech)) / RATE))
        parts.append(speech)
        pos += len(speech)
    # Pad the tail so the length is a whole number of video frames.
    step = RATE // VIDEO_FPS
    total = -(-(pos + int(TAIL * RATE)) // step) * step
    parts.append(np.zeros(total - pos))
    return np.concatenate(parts), spans


def write_wav(path: Path, x: np.ndarray) -> None:
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def encode_mp4(wav: Path, duration: float, out: Path) -> None:
    """Mux the audio with a plain colour frame: small, cheap and reproducible."""
    colour = f"color=c={VIDEO_COLOR}:s={VIDEO_SIZE}:r={VIDEO_FPS}:d={duration:.3f}"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", colour, "-i", str(wav), "-map", "0:v", "-map", "1:a"]
    cmd += ["-c:v", "libx264", "-preset", "medium", "-tune", "stillimage", "-crf", "30"]
    cmd += ["-pix_fmt", "yuv420p", "-threads", "1"]
    cmd += ["-c:a", "aac", "-b:a", "48k", "-ac", "1", "-ar", str(RATE)]
    cmd += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"]
    cmd += ["-flags:v", "+bitexact", "-flags:a", "+bitexact", "-movflags", "+faststart"]
    run([*cmd, str(out)])


def speaker_labels() -> dict[str, str]:
    """SPEAKER_00 is the first voice to talk, SPEAKER_01 the other one."""
    order = list(dict.fromkeys(turn.voice for turn in TURNS))
    return {voice: f"SPEAKER_{i:02d}" for i, voice in enumerate(order)}


def write_references(spans: list[tuple[float, float]]) -> None:
    labels = speaker_labels()
    ru_lines = [turn.ru for turn in TURNS]
    (SAMPLES_DIR / f"{NAME}.ru.txt").write_text("\n".join(ru_lines) + "\n", encoding="utf-8")

    tsv = ["start\tend\tspeaker\tru\ten"]
    rttm = []
    for turn, (start, end) in zip(TURNS, spans, strict=True):
        speaker = labels[turn.voice]
        tsv.append(f"{start:.3f}\t{end:.3f}\t{speaker}\t{turn.ru}\t{turn.en}")
        rttm.append(f"SPEAKER {NAME} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>")
    (SAMPLES_DIR / f"{NAME}.tsv").write_text("\n".join(tsv) + "\n", encoding="utf-8")
    (SAMPLES_DIR / f"{NAME}.rttm").write_text("\n".join(rttm) + "\n", encoding="utf-8")


def main() -> None:
    check_prerequisites()
    with tempfile.TemporaryDirectory(prefix="council_sample_") as tmp:
        workdir = Path(tmp)
        signal, spans = build_timeline(workdir)
        duration = len(signal) / RATE
        if duration > 60.0:
            die(f"clip is {duration:.1f} s, longer than 60 s")
        wav = workdir / f"{NAME}.wav"
        write_wav(wav, signal)
        encode_mp4(wav, duration, SAMPLES_DIR / f"{NAME}.mp4")
    write_references(spans)
    labels = speaker_labels()
    for turn, (start, end) in zip(TURNS, spans, strict=True):
        print(f"{start:7.3f} {end:7.3f} {labels[turn.voice]}  {turn.ru}")
    print(f"wrote {SAMPLES_DIR / (NAME + '.mp4')} ({duration:.1f} s)")


if __name__ == "__main__":
    main()
