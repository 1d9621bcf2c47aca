"""`python -m pipeline render`: every output again from a JSON, no model loaded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import srt
import webvtt

import pipeline
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
GOLDEN_JSON = GOLDEN / "council_sample.json"
MODEL_LIBRARIES = ("torch", "whisper", "pyannote.audio", "silero_vad", "ctranslate2")


def render(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "render", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def edited_copy(tmp_path: Path, change) -> Path:
    data = json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "council_sample.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_unchanged_transcript_renders_the_files_transcribe_wrote(tmp_path):
    # The golden SRT, TSV and RTTM files predate `render`: made by the pipeline's own run.
    result = render(GOLDEN_JSON, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("ru.srt", "en.srt", "ru-en.srt", "tsv", "rttm"):
        written = (tmp_path / f"council_sample.{name}").read_text(encoding="utf-8")
        assert written == (GOLDEN / f"council_sample.{name}").read_text(encoding="utf-8"), name
    assert (tmp_path / "council_sample.html").is_file()
    assert pipeline.load(tmp_path / "council_sample.json").cues == pipeline.load(GOLDEN_JSON).cues


def test_render_loads_no_model(tmp_path):
    code = (
        "import sys; from pipeline.cli import main; "
        f"assert main(['render', {str(GOLDEN_JSON)!r}, '--out', {str(tmp_path)!r}, '-q']) == 0; "
        f"print(sorted(m for m in {MODEL_LIBRARIES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_names_and_corrected_text_reach_every_file(tmp_path):
    def correct(data):
        data["speakers"]["SPEAKER_00"] = "Administrator"
        data["sentences"][0]["text"] = "Здравствуйте, заседание записывается на видео."
        data["sentences"][0]["translation"] = "Hello, the meeting is being filmed."

    path = edited_copy(tmp_path, correct)
    result = render(path, "--set", "diarization.names={SPEAKER_01: Wife 1}")
    assert result.returncode == 0, result.stderr
    first = next(srt.parse((tmp_path / "council_sample.ru.srt").read_text(encoding="utf-8")))
    assert first.content == "[Administrator]: Здравствуйте,\nзаседание записывается на видео."
    assert first.start.total_seconds() == pytest.approx(0.2, abs=0.05)
    english = (tmp_path / "council_sample.en.srt").read_text(encoding="utf-8")
    assert "[Administrator]: Hello,\nthe meeting is being filmed." in english
    assert "[Wife 1]: " in english
    tsv = (tmp_path / "council_sample.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[1].split("\t")[2:] == [
        "Administrator",
        "Здравствуйте, заседание записывается на видео.",
        "Hello, the meeting is being filmed.",
    ]
    rendered = pipeline.load(path)
    assert rendered.speakers == {"SPEAKER_00": "Administrator", "SPEAKER_01": "Wife 1"}
    assert rendered.segments == pipeline.load(GOLDEN_JSON).segments  # the model's words kept


def test_vtt_names_are_text_unless_turned_off(tmp_path):
    assert render(GOLDEN_JSON, "--out", tmp_path / "shown").returncode == 0
    captions = webvtt.read(str(tmp_path / "shown" / "council_sample.ru.vtt")).captions
    assert captions[0].voice == "SPEAKER_00"
    assert captions[0].text.startswith("[SPEAKER_00]: Здравствуйте")
    hidden = tmp_path / "hidden"
    names_as_tags = render(GOLDEN_JSON, "--out", hidden, "--set", "output.vtt_name_text=false")
    assert names_as_tags.returncode == 0
    captions = webvtt.read(str(hidden / "council_sample.ru.vtt")).captions
    assert captions[0].voice == "SPEAKER_00" and captions[0].text.startswith("Здравствуйте")
    none = tmp_path / "none"
    no_names = render(GOLDEN_JSON, "--out", none, "--set", "output.speaker_prefix=false")
    assert no_names.returncode == 0
    text = (none / "council_sample.ru.vtt").read_text(encoding="utf-8")
    assert "<v " not in text and "[SPEAKER" not in text


def _golden_with(change):
    def write(path: Path) -> None:
        data = json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    return write


def _sentence_moved_back(data):
    data["sentences"][7]["start"] = 1.0


def _word_ending_before_it_starts(data):
    data["segments"][0]["words"][0]["end"] = -1


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (lambda path: path.write_text('{"schema_version": "2.0"}'), "schema version 2.0"),
        (lambda path: path.write_text('{"schema_version": "1.2", "source": '), "not a transcript"),
        (lambda path: path.write_text('{"schema_version": "1.2"}'), "not a transcript"),
        (
            _golden_with(_sentence_moved_back),
            "times out of order: sentence 7 starts at 1.000 s, before sentence 6 (22.192 s)",
        ),
        (_golden_with(_word_ending_before_it_starts), "word 0 ('Здравствуйте,') has times"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(write, problem, tmp_path):
    path = tmp_path / "broken.json"
    write(path)
    out = tmp_path / "out"
    result = render(path, "--out", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and problem in lines[0], (
        result.stderr
    )
    assert not out.exists()
