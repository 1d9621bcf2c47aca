"""`pipeline.load`: our JSON and any SRT back into the typed transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.errors import PipelineError
from pipeline.stages.writers import write_outputs
from pipeline.types import Transcript
from tests.support import handmade_translation


@pytest.fixture
def written(tmp_path) -> dict[str, Path]:
    """A hand-made transcript written out by the writers."""
    paths = write_outputs(handmade_translation(), Path("meeting.mp4"), tmp_path, ["srt", "json"])
    return {path.name: path for path in paths}


def test_json_loads_into_the_transcript_it_was_written_from(written):
    transcript = pipeline.load(written["meeting.json"])
    assert isinstance(transcript, Transcript)
    assert transcript == handmade_translation()
    assert transcript.speakers == {"SPEAKER_00": "Глава", "SPEAKER_01": "SPEAKER_01"}


def test_our_srt_loads_with_speakers_and_times(written):
    from_srt = pipeline.load(written["meeting.ru.srt"])
    assert from_srt.language == "ru"
    cues = from_srt.cues["ru"]
    assert [(c.start, c.end) for c in cues] == [(0.5, 1.8), (2.0, 4.2)]
    assert [c.lines for c in cues] == [["Добрый день,"], ["Расходы 48 миллионов."]]
    assert [c.speaker for c in cues] == ["Глава", "SPEAKER_01"]


def test_a_dialogue_srt_and_a_foreign_srt_load(tmp_path):
    srt_file = tmp_path / "meeting.en.srt"
    srt_file.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\n-[Глава]: This is unacceptable!\n-[Жена]: No, wait.\n\n"
        "2\n00:00:04,000 --> 00:00:05,500\nNo names here,\nover two lines.\n\n",
        encoding="utf-8",
    )
    transcript = pipeline.load(srt_file)
    dialogue, plain = transcript.cues["en"]
    assert dialogue.line_speakers == ["Глава", "Жена"]
    assert dialogue.lines == ["-This is unacceptable!", "-No, wait."]
    assert plain.speaker is None and plain.lines == ["No names here,", "over two lines."]
    table = transcript.to_dataframe()
    assert list(table["text"]) == [
        "This is unacceptable!",
        "No, wait.",
        "No names here, over two lines.",
    ]
    assert list(table["speaker"])[:2] == ["Глава", "Жена"]


def test_dataframes_of_words_sentences_and_cues(written):
    transcript = pipeline.load(written["meeting.json"])
    words = transcript.to_dataframe("words")
    assert len(words) == len(transcript.words)
    assert {"text", "start", "end", "speaker", "probability"} <= set(words.columns)
    cues = transcript.to_dataframe("cues")
    assert set(cues["track"]) == set(transcript.cues)
    sentences = transcript.to_dataframe()
    assert list(sentences["translation"]) == [s.translation for s in transcript.sentences]
    with pytest.raises(ValueError, match="sentences, words or cues"):
        transcript.to_dataframe("turns")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.json", None, "no such file"),
        ("notes.txt", "hello", "expected our .json or an .srt"),
        ("broken.json", "{not json", "not a transcript JSON"),
        ("old.json", '{"schema_version": "0.3"}', "schema version 0.3"),
        ("broken.srt", "1\nnot a time\nhello\n\n", "not a valid SRT"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, name, content, problem):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=problem) as caught:
        pipeline.load(path)
    assert name in str(caught.value) and "\n" not in str(caught.value)
