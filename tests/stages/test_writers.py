import html
import json
import sys
from datetime import timedelta
from pathlib import Path

import pysubs2
import pytest
import srt
import webvtt
from pydantic import TypeAdapter

from pipeline.stages.writers import (
    atomic_write_text,
    render_json,
    render_srt,
    render_vtt,
    write_outputs,
)
from pipeline.types import (
    Cue,
    Segment,
    Sentence,
    SourceInfo,
    SpeakerTurn,
    Transcript,
    Word,
    transcript_schema,
)

CUES = [
    Cue(0.5, 2.25, ["Добрый день, коллеги."], "SPEAKER_00"),
    Cue(2.5, 6.0, ["Сегодня на повестке", "бюджет Старобельска --> 2025"]),
    Cue(3661.001, 3662.999, ["Час спустя."]),
]


def _transcript() -> Transcript:
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
        sentences=[Sentence(0, 0.5, 1.3, "SPEAKER_00", "Добрый день,", 0, 2, "Good afternoon,")],
        cues={"ru": CUES},
        config={"asr": {"model": "base"}},
        versions={"x": "1"},
        stage_seconds={"asr": 1.5},
        notes=["n"],
    )


def test_srt_round_trips_through_an_independent_parser():
    parsed = list(srt.parse(render_srt(CUES)))
    assert [p.index for p in parsed] == [1, 2, 3]
    assert parsed[0].start == timedelta(seconds=0.5) and parsed[0].end == timedelta(seconds=2.25)
    assert parsed[1].content == "Сегодня на повестке\nбюджет Старобельска -> 2025"
    assert parsed[2].start == timedelta(hours=1, minutes=1, seconds=1, milliseconds=1)


def test_vtt_round_trips_through_an_independent_parser():
    text = render_vtt(CUES)
    assert text.startswith("WEBVTT")
    captions = webvtt.from_string(text).captions
    assert [(c.start, c.end) for c in captions] == [
        ("00:00:00.500", "00:00:02.250"),
        ("00:00:02.500", "00:00:06.000"),
        ("01:01:01.001", "01:01:02.999"),
    ]
    assert captions[1].text == "Сегодня на повестке\nбюджет Старобельска -> 2025"


def test_json_round_trips_into_the_same_transcript():
    transcript = _transcript()
    assert Transcript.from_dict(json.loads(render_json(transcript))) == transcript


def test_vtt_shows_each_speaker_as_text_and_keeps_the_voice_tag():
    cues = [
        Cue(0.5, 2.0, ["Добрый день,", "коллеги."], "SPEAKER_00"),
        Cue(2.5, 4.0, ["-Кто здесь?", "-Я."], None, line_speakers=["SPEAKER_00", "SPEAKER_01"]),
    ]
    names = {"SPEAKER_00": "A&B <Chair>", "SPEAKER_01": "Wife 1"}
    captions = pysubs2.SSAFile.from_string(render_vtt(cues, names), format_="vtt")
    shown = [html.unescape(event.plaintext) for event in captions]  # what a player shows
    assert shown == [
        "[A&B <Chair>]: Добрый день,\nколлеги.",
        "-[A&B <Chair>]: Кто здесь?\n-[Wife 1]: Я.",
    ]
    assert shown == [srt_cue.content for srt_cue in srt.parse(render_srt(cues, names))]
    parsed = webvtt.from_string(render_vtt(cues, names)).captions
    assert parsed[0].voice == "A&amp;B &lt;Chair&gt;"  # escaped inside the tag, as WebVTT needs
    tags_only = webvtt.from_string(render_vtt(cues, names, name_text=False)).captions
    assert tags_only[1].raw_text.splitlines()[1].startswith("<v Wife 1>-Я.")


def test_no_cues_give_valid_empty_files():
    assert list(srt.parse(render_srt([]))) == []
    assert webvtt.from_string(render_vtt([])).captions == []


def test_outputs_are_named_after_the_clip(tmp_path):
    transcript = _transcript()
    paths = write_outputs(
        transcript, tmp_path / "Заседание 1.mp4", tmp_path / "out", ["srt", "vtt", "json"]
    )
    assert [p.name for p in paths] == [
        "Заседание 1.ru.srt",
        "Заседание 1.ru.vtt",
        "Заседание 1.json",
    ]
    assert "[Глава]: " in paths[0].read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "clip.ru.srt"
    target.write_text("old and good")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.stages.writers.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old and good"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.ru.srt"]


# Golden outputs of the bundled sample ----------------------------------------

GOLDEN = Path(__file__).parents[1] / "golden"
DOCS = Path(__file__).parents[2] / "docs"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The golden transcript's cues laid out again and every file written afresh."""
    sys.path.insert(0, str(GOLDEN))
    from regenerate import rebuild

    out = tmp_path_factory.mktemp("golden")
    return {path.name: path for path in rebuild(GOLDEN / "council_sample.json", out)}


def test_sample_outputs_match_the_golden_files(rebuilt):
    assert sorted(rebuilt) == sorted(p.name for p in GOLDEN.glob("council_sample.*"))
    for name, path in rebuilt.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") == expected, f"{name} differs from its golden file"


def test_srt_and_vtt_read_back_with_pysubs2(rebuilt):
    transcript = Transcript.from_dict(json.loads(rebuilt["council_sample.json"].read_text()))
    for track, cues in transcript.cues.items():
        names = ["srt"] if "-" in track else ["srt", "vtt"]
        for fmt in names:
            events = pysubs2.load(str(rebuilt[f"council_sample.{track}.{fmt}"])).events
            assert [(e.start, e.end) for e in events] == [
                (round(c.start * 1000), round(c.end * 1000)) for c in cues
            ]
            plain = [e.plaintext.replace("\n", " ") for e in events]
            assert all(" ".join(c.lines) in text for c, text in zip(cues, plain, strict=True))


def test_tsv_reads_back_with_pandas(rebuilt):
    import pandas as pd

    table = pd.read_csv(rebuilt["council_sample.tsv"], sep="\t", quoting=3)
    transcript = Transcript.from_dict(json.loads(rebuilt["council_sample.json"].read_text()))
    assert list(table.columns) == ["start", "end", "speaker", "ru", "en"]
    assert list(table["ru"]) == [s.text for s in transcript.sentences]
    assert list(table["en"]) == [s.translation for s in transcript.sentences]
    assert list(table["start"]) == [round(s.start, 3) for s in transcript.sentences]


def test_rttm_reads_back_with_pyannote_database(rebuilt):
    from pyannote.database.util import load_rttm

    (annotation,) = load_rttm(rebuilt["council_sample.rttm"]).values()
    transcript = Transcript.from_dict(json.loads(rebuilt["council_sample.json"].read_text()))
    assert sorted(annotation.labels()) == sorted(transcript.speakers)
    assert len(list(annotation.itertracks())) == len(transcript.turns)


def test_json_is_valid_against_its_documented_schema(rebuilt):
    schema = json.loads((DOCS / "transcript.schema.json").read_text())
    assert schema == transcript_schema(), "regenerate docs/transcript.schema.json"
    TypeAdapter(Transcript).validate_json(rebuilt["council_sample.json"].read_text(), strict=True)


def test_dialogue_cues_name_each_speaker_in_both_formats():
    cue = Cue(1.0, 3.0, ["-Это неприемлемо!", "-Нет, подождите."], None, None, ["A", "B"])
    names = {"A": "Глава", "B": "Жена"}
    assert srt_text(cue, names) == "-[Глава]: Это неприемлемо!\n-[Жена]: Нет, подождите."
    (caption,) = webvtt.from_string(render_vtt([cue], names)).captions
    assert (
        caption.raw_text == "<v Глава>-[Глава]: Это неприемлемо!\n<v Жена>-[Жена]: Нет, подождите."
    )
    assert srt_text(cue, None) == "-Это неприемлемо!\n-Нет, подождите."


def srt_text(cue: Cue, names) -> str:
    (parsed,) = srt.parse(render_srt([cue], names))
    return parsed.content
