"""`python -m pipeline render`: every output again from a JSON, no model loaded."""

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import srt
import webvtt

import pipeline
from pipeline.publish.render import render_file
from pipeline.stages.writers import render_json
from pipeline.types import SCHEMA_VERSION, Edit
from tests.conftest import REPO
from tests.support import handmade_translation, run_pipeline

MODEL_LIBRARIES = ("torch", "whisper", "pyannote.audio", "silero_vad", "ctranslate2")
TRACKS = ("ru.srt", "en.srt", "ru-en.srt", "ru.vtt", "en.vtt", "tsv", "rttm")


def render(*args: str | Path) -> subprocess.CompletedProcess:
    return run_pipeline("render", *args, timeout=120)


def changed_copy(source: Path, target: Path, change) -> Path:
    data = json.loads(source.read_text(encoding="utf-8"))
    change(data)
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def test_an_unchanged_transcript_renders_the_files_transcribe_wrote(sample_run, tmp_path):
    result = render(sample_run.json, "--out", tmp_path, "--clip", sample_run.clip)
    assert result.returncode == 0, result.stderr
    for name in TRACKS:
        written = (tmp_path / f"council.{name}").read_text(encoding="utf-8")
        assert written == (sample_run.out / f"council.{name}").read_text(encoding="utf-8"), name
    assert pipeline.load(tmp_path / "council.json").cues == pipeline.load(sample_run.json).cues
    page = (tmp_path / "council.html").read_text(encoding="utf-8")
    media = unquote(re.search(r'"media": "([^"]+)"', page)[1])
    assert (tmp_path / media).resolve() == sample_run.clip.resolve()  # the page plays the clip


def test_render_loads_no_model(sample_run, tmp_path):
    args = ["render", str(sample_run.json), "--out", str(tmp_path), "-q"]
    code = (
        f"import sys; from pipeline.cli import main; assert main({args!r}) == 0; "
        f"print(sorted(m for m in {MODEL_LIBRARIES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_names_and_corrected_text_reach_every_file(sample_run, tmp_path):
    sentences = pipeline.load(sample_run.json).sentences
    first = sentences[0]
    second = next(s for s in sentences if s.speaker != first.speaker)

    def correct(data):
        data["speakers"][first.speaker] = "Administrator"
        data["sentences"][0]["text"] = "Здравствуйте, заседание записывается на видео."
        data["sentences"][0]["translation"] = "Hello, the meeting is being filmed."

    path = changed_copy(sample_run.json, tmp_path / "council.json", correct)
    names = f"diarization.names={{{second.speaker}: Wife 1}}"
    result = render(path, "--set", names)
    assert result.returncode == 0, result.stderr
    cue = next(srt.parse((tmp_path / "council.ru.srt").read_text(encoding="utf-8")))
    shown = " ".join(cue.content.split())
    assert shown == "[Administrator]: Здравствуйте, заседание записывается на видео."
    assert first.start - 1.5 <= cue.start.total_seconds() <= first.start  # still its speech's time
    english = (tmp_path / "council.en.srt").read_text(encoding="utf-8")
    assert "[Administrator]: Hello," in english and "[Wife 1]: " in english
    tsv = (tmp_path / "council.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[0].startswith("# English: machine translation")  # then the header, then rows
    assert tsv[2].split("\t")[2:5] == [
        "Administrator",
        "Здравствуйте, заседание записывается на видео.",
        "Hello, the meeting is being filmed.",
    ]
    rendered, original = pipeline.load(path), pipeline.load(sample_run.json)
    renamed = {first.speaker: "Administrator", second.speaker: "Wife 1"}
    assert rendered.speakers == {**original.speakers, **renamed}
    assert rendered.segments == original.segments  # the model's words kept


def test_vtt_names_are_text_unless_turned_off(sample_run, tmp_path):
    speaker = pipeline.load(sample_run.json).cues["ru"][0].speaker
    assert render(sample_run.json, "--out", tmp_path / "shown").returncode == 0
    captions = webvtt.read(str(tmp_path / "shown" / "council.ru.vtt")).captions
    assert captions[0].voice == speaker and captions[0].text.startswith(f"[{speaker}]: ")
    hidden = tmp_path / "hidden"
    names_as_tags = render(sample_run.json, "--out", hidden, "--set", "output.vtt_name_text=false")
    assert names_as_tags.returncode == 0
    captions = webvtt.read(str(hidden / "council.ru.vtt")).captions
    assert captions[0].voice == speaker and not captions[0].text.startswith("[")
    none = tmp_path / "none"
    no_names = render(sample_run.json, "--out", none, "--set", "output.speaker_prefix=false")
    assert no_names.returncode == 0
    text = (none / "council.ru.vtt").read_text(encoding="utf-8")
    assert "<v " not in text and f"[{speaker}]" not in text


def _last_sentence_moved_first(data):
    data["sentences"][-1]["start"] = 0.05


def _word_ending_before_it_starts(data):
    data["segments"][0]["words"][0]["end"] = -1


def _schema_2(data):
    data["schema_version"] = "2.0"


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (_schema_2, f"schema version 2.0; this reader knows {SCHEMA_VERSION}"),
        (f'{{"schema_version": "{SCHEMA_VERSION}", "source": ', "not a transcript JSON"),
        (f'{{"schema_version": "{SCHEMA_VERSION}"}}', "not a transcript JSON"),
        (_last_sentence_moved_first, "times out of order: sentence {last} starts at 0.050 s"),
        (_word_ending_before_it_starts, "word 0 ("),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(write, problem, sample_run, tmp_path):
    path = tmp_path / "broken.json"
    if isinstance(write, str):
        path.write_text(write)
    else:
        changed_copy(sample_run.json, path, write)
    problem = problem.format(last=len(pipeline.load(sample_run.json).sentences) - 1)
    out = tmp_path / "out"
    result = render(path, "--out", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and problem in lines[0], (
        result.stderr
    )
    assert not out.exists()


def test_english_a_person_corrected_loses_its_machine_checks(tmp_path):
    transcript = handmade_translation()
    flagged = next(s for s in transcript.sentences if s.checks)
    transcript.edits = [
        Edit("translation", flagged.translation, "Costs: 48 million.", sentence_id=flagged.id)
    ]
    flagged.translation = "Costs: 48 million."
    (tmp_path / "meeting.json").write_text(render_json(transcript), encoding="utf-8")
    render_file(tmp_path / "meeting.json", tmp_path / "out")
    rendered = pipeline.load(tmp_path / "out" / "a.json")  # named after the clip
    assert [s.checks for s in rendered.sentences if s.id == flagged.id] == [[]]
    tsv = (tmp_path / "out" / "a.tsv").read_text(encoding="utf-8")
    assert "numbers: 48 million missing" not in tsv and "Costs: 48 million." in tsv
