"""Real audio for tests, made or installed by the project itself (no eval data copied).

The Russian speech is Debian's asterisk-core-sounds-ru-wav: real recordings of a
professional female voice (CC BY 3.0), installed by `make setup`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jiwer

from pipeline.evaluation import prompts
from pipeline.text import normalise
from pipeline.types import (
    Cue,
    ModelInfo,
    Segment,
    Sentence,
    SourceInfo,
    SpeakerTurn,
    Transcript,
    Word,
)

ASTERISK_RU = prompts.SOUNDS
ASTERISK_RU_TEXT = prompts.TEXTS
prompt_texts = prompts.prompt_texts
PROJECT = Path(__file__).resolve().parents[1]

# Clean, whole sentences without digits, chosen by reading the prompt list.
SPEECH_PROMPTS = [
    "agent-alreadyon",
    "all-circuits-busy-now",
    "auth-incorrect",
    "check-number-dial-again",
    "conf-invalid",
    "conf-kicked",
    "conf-placeintoconf",
    "conf-waitforleader",
    "confbridge-lock-no-join",
    "confbridge-only-one",
    "confbridge-removed",
    "demo-nomatch",
]


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def concat_prompts(ids: list[str], out: Path, gap: float = 0.8) -> Path:
    """Join prompts into one 16 kHz WAV with `gap` seconds of silence around each."""
    inputs: list[str] = []
    for prompt in ids:
        inputs += ["-i", str(ASTERISK_RU / f"{prompt}.wav")]
    lead_ms = int(gap * 1000)
    chain = "".join(
        f"[{i}:a]aresample=16000,apad=pad_dur={gap},adelay={lead_ms if i == 0 else 0}[a{i}];"
        for i in range(len(ids))
    )
    joined = "".join(f"[a{i}]" for i in range(len(ids)))
    chain += f"{joined}concat=n={len(ids)}:v=0:a=1[out]"
    ffmpeg(*inputs, "-filter_complex", chain, "-map", "[out]", "-ac", "1", "-ar", "16000", out)
    return out


def config_options() -> list[tuple[str, Any]]:
    """Every option as (section.key, pydantic FieldInfo), read off the models themselves."""
    from pipeline.config import Config

    return [
        (f"{section_name}.{key}", option)
        for section_name, section in Config.model_fields.items()
        for key, option in section.annotation.model_fields.items()
    ]


def word_error_rate(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalise(reference), normalise(hypothesis))


# A small transcript written by hand (expected outputs of it are written by hand in the tests).
HANDMADE_CUES = [
    Cue(0.5, 2.25, ["Добрый день, коллеги."], "SPEAKER_00"),
    Cue(2.5, 6.0, ["Сегодня на повестке", "бюджет Старобельска --> 2025"]),
    Cue(3661.001, 3662.999, ["Час спустя."]),
]


def handmade_transcript() -> Transcript:
    source = SourceInfo("a.mp4", "ab" * 32, 10, "mp4", 9.0, 1, "aac", None, 0.5, 16000)
    words = [Word("Добрый", 0.5, 0.9, 0.98), Word("день,", 0.9, 1.3, 0.91, "SPEAKER_00", 1.0)]
    segment = Segment(0.5, 1.3, "Добрый день,", words, -0.2, 0.01, 1.1, 0.0)
    return Transcript(
        source=source,
        language="ru",
        segments=[segment],
        turns=[SpeakerTurn(0.4, 1.4, "SPEAKER_00")],
        exclusive_turns=[SpeakerTurn(0.4, 1.4, "SPEAKER_00")],
        speakers={"SPEAKER_00": "Глава"},
        sentences=[
            Sentence(0, 0.5, 1.3, "SPEAKER_00", "Добрый день,", 0, 2, translation="Good afternoon,")
        ],
        cues={"ru": HANDMADE_CUES},
        config={"asr": {"model": "base"}},
        versions={"x": "1"},
        stage_seconds={"asr": 1.5},
        notes=["n"],
    )


ENGINE = ModelInfo("translation", "whisper-base (translate task)", "cd" * 32, "whisper: bundled")


def handmade_translation() -> Transcript:
    """Two sentences of two speakers; the second's English lost its number and is flagged."""
    transcript = handmade_transcript()
    words = [
        Word("Расходы", 2.0, 2.6, 0.9, "SPEAKER_01", 1.0),
        Word("48", 2.6, 3.2, 0.8, "SPEAKER_01", 1.0),
        Word("миллионов.", 3.2, 4.0, 0.9, "SPEAKER_01", 1.0),
    ]
    transcript.segments.append(
        Segment(2.0, 4.0, "Расходы 48 миллионов.", words, speaker="SPEAKER_01")
    )
    transcript.speakers = {"SPEAKER_00": "Глава", "SPEAKER_01": "SPEAKER_01"}
    transcript.turns.append(SpeakerTurn(1.9, 4.1, "SPEAKER_01"))
    transcript.sentences = [
        Sentence(
            0,
            0.5,
            1.3,
            "SPEAKER_00",
            "Добрый день,",
            0,
            2,
            translation="Good afternoon,",
            checks=[],
        ),
        Sentence(
            1,
            2.0,
            4.0,
            "SPEAKER_01",
            "Расходы 48 миллионов.",
            2,
            3,
            translation="The costs are great.",
            checks=["numbers: 48 million missing"],
        ),
    ]
    transcript.cues = {
        "ru": [
            Cue(0.5, 1.8, ["Добрый день,"], "SPEAKER_00", 0),
            Cue(2.0, 4.2, ["Расходы 48 миллионов."], "SPEAKER_01", 1),
        ],
        "en": [
            Cue(0.5, 1.8, ["Good afternoon,"], "SPEAKER_00", 0),
            Cue(2.0, 4.2, ["The costs are great."], "SPEAKER_01", 1),
        ],
    }
    transcript.models = [ENGINE]
    return transcript


def run_pipeline(
    *args: str | Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS` in the project folder, as a user runs it; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=timeout,
    )
