"""The recorded Russian prompts of Debian's `asterisk-core-sounds-ru-wav`.

Real speech of one professional voice, with the texts that were read
(`asterisk-core-sounds-ru`), from which the benchmarks, the speaker sets and the
tests build their inputs. A few recordings are not speech: their "text" describes a
sound in brackets (`tt-monkeys: [sound of monkeys screaming]`, `beep: [this is a
simple beep tone]`, `confbridge-join: <beep ascending>`).
"""

from __future__ import annotations

import gzip
from pathlib import Path

SOUNDS = Path("/usr/share/asterisk/sounds/ru")
TEXTS = Path("/usr/share/doc/asterisk-core-sounds-ru/core-sounds-ru.txt.gz")


def prompt_texts() -> dict[str, str]:
    """Every prompt's text by its name (`digits/1`, `conf-kicked`), whitespace normalised."""
    texts = {}
    with gzip.open(TEXTS, "rt", encoding="utf-8") as lines:
        for line in lines:
            key, sep, text = line.partition(": ")
            if sep and not line.startswith(";"):
                texts[key.strip()] = " ".join(text.split())
    return texts


def is_speech(text: str) -> bool:
    """False for a description of a sound (`[ascending tones]`, `<beep ascending>`)."""
    return bool(text) and text[0] not in "[<"


def speech_recordings() -> list[Path]:
    """The top-level prompt recordings whose text is speech, in name order; none when the
    packages are missing (the caller says which to install)."""
    if not TEXTS.is_file():
        return []
    texts = prompt_texts()
    return [
        path
        for path in sorted(SOUNDS.glob("*.wav"))
        if path.stem in texts and is_speech(texts[path.stem])
    ]
