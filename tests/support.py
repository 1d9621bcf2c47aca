"""Real audio for tests, made or installed by the project itself (no eval data copied).

The Russian speech is Debian's asterisk-core-sounds-ru-wav: real recordings of a
professional female voice (CC BY 3.0), installed by `make setup`.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path
from typing import Any

import jiwer

from pipeline.text import normalise

ASTERISK_RU = Path("/usr/share/asterisk/sounds/ru")
ASTERISK_RU_TEXT = Path("/usr/share/doc/asterisk-core-sounds-ru/core-sounds-ru.txt.gz")

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


def prompt_texts() -> dict[str, str]:
    texts = {}
    with gzip.open(ASTERISK_RU_TEXT, "rt", encoding="utf-8") as handle:
        for line in handle:
            key, sep, text = line.partition(": ")
            if sep and not line.startswith(";"):
                texts[key.strip()] = text.strip()
    return texts


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
