"""docs/transcript.schema.json: generated from the code, and it means something.

JSON is checked with `jsonschema` against the committed file itself, never through
the pydantic model the schema is generated from.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import jsonschema
import pytest

import pipeline
from pipeline.errors import PipelineError
from pipeline.stages.writers import render_json
from tests.conftest import REPO
from tests.support import handmade_translation

SCHEMA_FILE = REPO / "docs" / "transcript.schema.json"


def committed_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator(committed_schema()).validate(document)


@pytest.fixture(scope="module")
def written() -> dict:
    """A hand-written translated transcript as the writer writes it."""
    return json.loads(render_json(handmade_translation()))


def test_the_committed_schema_is_what_the_schema_command_prints():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "schema"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "run `python -m pipeline schema > docs/transcript.schema.json`"
    )


def test_the_schema_declares_its_draft_and_id_and_is_itself_valid():
    schema = committed_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:evidence-subtitles:transcript:")
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_written_transcript_is_valid(written):
    validate(written)
    assert written["cues"] and written["segments"] and written["violations"] is not None


def _parent(document: dict, path: list):
    for key in path[:-1]:
        document = document[key]
    return document


def _without(path: list):
    def change(document: dict) -> dict:
        del _parent(document, path)[path[-1]]
        return document

    return change


def _set(path: list, value):
    def change(document: dict) -> dict:
        _parent(document, path)[path[-1]] = value
        return document

    return change


REJECTED_BY_THE_LOADER = {
    "no source": _without(["source"]),
    "no language": _without(["language"]),
    "no schema version": _without(["schema_version"]),
    "another major version": _set(["schema_version"], "2.0"),
    "an unknown key in a word": _set(["segments", 0, "words", 0, "colour"], "red"),
    "a word without its probability": _without(["segments", 0, "words", 0, "probability"]),
    "a segment without its text": _without(["segments", 0, "text"]),
    "an unknown key in the source": _set(["source", "url"], "x"),
    "cues as a list": _set(["cues"], []),
    "a cue without lines": _without(["cues", "ru", 0, "lines"]),
    "a model without a role": _without(["models", 0, "role"]),
}


@pytest.mark.parametrize("change", REJECTED_BY_THE_LOADER.values(), ids=REJECTED_BY_THE_LOADER)
def test_a_json_the_loader_rejects_is_rejected_by_the_schema_too(change, written, tmp_path):
    document = change(copy.deepcopy(written))
    path = tmp_path / "clip.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(PipelineError):
        pipeline.load(path)
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


BEYOND_THE_BOUNDS = {
    "a negative time": _set(["segments", 0, "words", 0, "start"], -0.5),
    "a probability above 1": _set(["segments", 0, "words", 0, "probability"], 1.5),
    "a cue number 0": _set(
        ["violations"], [{"language": "ru", "cue": 0, "rule": "x", "detail": ""}]
    ),
    "a short SHA-256": _set(["source", "sha256"], "abc"),
    "an unknown top-level key": _set(["comment"], "x"),
}


@pytest.mark.parametrize("change", BEYOND_THE_BOUNDS.values(), ids=BEYOND_THE_BOUNDS)
def test_times_and_shares_are_bounded_and_unknown_keys_rejected(change, written):
    with pytest.raises(jsonschema.ValidationError):
        validate(change(copy.deepcopy(written)))
