"""JSON Schema of `<clip>.json`: `python -m pipeline schema > docs/transcript.schema.json`.

The shapes come from the dataclasses in `pipeline/types.py` (through pydantic);
what the types cannot say is added here: every field is required (the writer
always writes them all), unknown keys are rejected in every object whose format
is ours, and numbers are bounded (times ≥ 0, probabilities in [0, 1], ...).
"""

from __future__ import annotations

from typing import Any

from pipeline.types import SCHEMA_VERSION, Transcript

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = f"urn:evidence-subtitles:transcript:{SCHEMA_VERSION}"
SHA256 = {"pattern": "^[0-9a-f]{64}$"}
AT_LEAST_0 = {"minimum": 0}
SHARE = {"minimum": 0, "maximum": 1}

# Bounds by object and field; times are seconds on the clip's timeline.
BOUNDS: dict[str, dict[str, dict[str, Any]]] = {
    "Word": {"start": AT_LEAST_0, "end": AT_LEAST_0, "probability": SHARE, "speaker_share": SHARE},
    "Segment": {
        "start": AT_LEAST_0,
        "end": AT_LEAST_0,
        "no_speech_prob": SHARE,
        "compression_ratio": AT_LEAST_0,
        "temperature": AT_LEAST_0,
    },
    "SpeakerTurn": {"start": AT_LEAST_0, "end": AT_LEAST_0},
    "SpeechRegion": {"start": AT_LEAST_0, "end": AT_LEAST_0},
    "Sentence": {
        "id": AT_LEAST_0,
        "start": AT_LEAST_0,
        "end": AT_LEAST_0,
        "first_word": AT_LEAST_0,
        "word_count": AT_LEAST_0,
    },
    "Cue": {
        "start": AT_LEAST_0,
        "end": AT_LEAST_0,
        "sentence_id": AT_LEAST_0,
        "speech_start": AT_LEAST_0,
        "speech_end": AT_LEAST_0,
    },
    "RuleViolation": {"cue": {"minimum": 1}},
    "SourceInfo": {
        "sha256": SHA256,
        "size_bytes": AT_LEAST_0,
        "duration": AT_LEAST_0,
        "audio_stream_index": AT_LEAST_0,
        "sample_rate": {"minimum": 1},
        "frame_rate": {"exclusiveMinimum": 0},
    },
    "ModelInfo": {"sha256": SHA256},
}
TIMED = {"Word", "Segment", "SpeakerTurn", "SpeechRegion", "Sentence", "Cue"}


def transcript_schema() -> dict[str, Any]:
    """The schema as a dict (docs/transcript.schema.json is this, written out)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(Transcript).json_schema()
    for name, definition in schema["$defs"].items():
        _close(definition)
        for field, bounds in BOUNDS.get(name, {}).items():
            _bound(definition["properties"][field], bounds)
        if name in TIMED:
            definition["description"] = (
                definition.get("description", "") + "\n\nstart ≤ end (JSON Schema cannot say so)."
            ).strip()
    _close(schema)
    schema["properties"]["schema_version"]["pattern"] = rf"^{SCHEMA_VERSION.split('.')[0]}\.[0-9]+$"
    schema["properties"]["stage_seconds"]["additionalProperties"] = {
        "type": "number",
        **AT_LEAST_0,
    }
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": f"evidence-subtitles transcript, schema version {SCHEMA_VERSION}",
        "description": "<clip>.json written by `python -m pipeline transcribe` "
        "(docs/outputs.md describes every field).",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _close(definition: dict[str, Any]) -> None:
    """Every field required, no other key allowed: the writer writes exactly these."""
    definition["required"] = list(definition["properties"])
    definition["additionalProperties"] = False
    for prop in definition["properties"].values():
        prop.pop("default", None)  # required fields have no default in the file


def _bound(prop: dict[str, Any], bounds: dict[str, Any]) -> None:
    """Add `bounds` to the numeric (or string) branch of a property, nullable or not."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") in ("number", "integer", "string"):
            branch.update(bounds)
