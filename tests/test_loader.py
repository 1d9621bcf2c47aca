"""`pipeline.load`: our JSON and any SRT back into the typed transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.errors import PipelineError
from pipeline.types import Transcript

GOLDEN = Path(__file__).parent / "golden"


def test_json_loads_into_the_transcript_it_was_written_from():
    transcript = pipeline.load(GOLDEN / "council_sample.json")
    assert isinstance(transcript, Transcript)
    assert transcript.speakers == {"SPEAKER_00": "SPEAKER_00", "SPEAKER_01": "SPEAKER_01"}
    assert transcript.words and all(w.speaker in transcript.speakers for w in transcript.words)
    again = Transcript.from_dict(transcript.to_dict())
    assert again == transcript


def test_our_srt_loads_with_speakers_and_times():
    from_json = pipeline.load(GOLDEN / "council_sample.json")
    from_srt = pipeline.load(GOLDEN / "council_sample.ru.srt")
    assert from_srt.language == "ru"
    cues, expected = from_srt.cues["ru"], from_json.cues["ru"]
    assert [(c.start, c.end) for c in cues] == [(c.start, c.end) for c in expected]
    assert [c.lines for c in cues] == [c.lines for c in expected]
    assert [c.speaker for c in cues] == [c.speaker for c in expected]


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


def test_dataframes_of_words_sentences_and_cues():
    transcript = pipeline.load(GOLDEN / "council_sample.json")
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
