"""`python -m pipeline eval`: dataset layouts, errors, and a real run on real speech."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import Config, load_config, model_cache_dir
from pipeline.errors import PipelineError
from pipeline.evaluation.baseline import (
    cached_whisper_cli,
    cli_threads,
    prefetch_whisper_cli,
    whisper_cli_command,
)
from pipeline.evaluation.datasets import load_dataset
from pipeline.evaluation.metrics import text_errors
from pipeline.types import SpeakerTurn
from tests import support
from tests.conftest import REPO, SAMPLE, UNEXPECTED
from tests.support import run_pipeline

TSV_HEADER = "start\tend\tspeaker\tru\ten\n"


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"")


# --- layouts -------------------------------------------------------------------------------------


def test_references_share_the_media_stem_and_wavtime_wins_for_the_wav(tmp_path: Path):
    touch(tmp_path, "meeting.mp4", "meeting.wav", "notes.md")
    (tmp_path / "meeting.rttm").write_text("SPEAKER meeting 1 1.5 2.0 <NA> <NA> chair <NA> <NA>\n")
    (tmp_path / "meeting.wavtime.rttm").write_text(
        "SPEAKER meeting 1 1.0 2.0 <NA> <NA> chair <NA> <NA>\n"
    )
    (tmp_path / "meeting.uem").write_text("meeting 1 0.000 10.0\n")
    (tmp_path / "meeting.tsv").write_text(
        TSV_HEADER + "4.0\t5.0\tguest\tВторая.\tSecond.\n1.5\t3.5\tchair\tПервая.\tFirst.\n"
    )
    mp4, wav = load_dataset(tmp_path)
    assert (mp4.id, wav.id) == ("meeting.mp4", "meeting.wav")
    assert mp4.turns == [SpeakerTurn(1.5, 3.5, "chair")]
    assert wav.turns == [SpeakerTurn(1.0, 3.0, "chair")]  # on the WAV's own timeline
    assert mp4.uem == wav.uem == [(0.0, 10.0)]
    assert mp4.text == "Первая. Вторая."  # in time order
    assert [row.translation for row in mp4.rows or []] == ["Second.", "First."]
    assert wav.sources == ["meeting.tsv", "meeting.uem", "meeting.wavtime.rttm"]


def test_tsv_alone_gives_the_speaker_turns_and_txt_the_text(tmp_path: Path):
    touch(tmp_path, "a.flac", "b.ogg")
    (tmp_path / "a.tsv").write_text(TSV_HEADER + "0.5\t2.0\tS1\tДа.\tYes.\n")
    (tmp_path / "b.ru.txt").write_text("Нет.\n")
    (tmp_path / "b.en.txt").write_text("No.\n")
    a, b = load_dataset(tmp_path)
    assert a.turns == [SpeakerTurn(0.5, 2.0, "S1")] and a.text == "Да."
    assert (b.turns, b.text, b.translation) == (None, "Нет.", "No.")


def test_a_shared_rttm_is_split_by_file_id_and_limit_keeps_the_first_files(tmp_path: Path):
    touch(tmp_path, "dev00.flac", "dev01.flac", "debate_8k.wav")
    (tmp_path / "ref.rttm").write_text(
        "SPEAKER dev00 1 1.0 2.0 <NA> <NA> MEE009 <NA> <NA>\n"
        "SPEAKER dev01 1 3.0 1.0 <NA> <NA> MEE012 <NA> <NA>\n"
    )
    (tmp_path / "ref.uem").write_text("dev00 NA 0 30\ndev01 NA 0 30\n")
    (tmp_path / "debate.rttm").write_text("SPEAKER debate 1 2.5 3.0 <NA> <NA> spk00 <NA> <NA>\n")
    debate, dev00, dev01 = load_dataset(tmp_path)
    assert dev00.turns == [SpeakerTurn(1.0, 3.0, "MEE009")] and dev00.uem == [(0.0, 30.0)]
    assert dev01.turns == [SpeakerTurn(3.0, 4.0, "MEE012")]
    assert debate.turns == [SpeakerTurn(2.5, 5.5, "spk00")]  # uri "debate" + suffix "_8k"
    assert debate.uem is None
    assert [item.id for item in load_dataset(tmp_path, limit=2)] == ["debate_8k.wav", "dev00.flac"]


def test_a_manifest_lists_audio_and_reference_text(tmp_path: Path):
    (tmp_path / "audio").mkdir()
    touch(tmp_path / "audio", "hello.flac")
    (tmp_path / "manifest.tsv").write_text(
        "id\taudio\tduration_s\tref_ru\tref_en\nhello\taudio/hello.flac\t1.0\tПривет.\tHello.\n"
    )
    [item] = load_dataset(tmp_path)
    assert (item.id, item.media, item.text, item.translation) == (
        "hello",
        tmp_path / "audio" / "hello.flac",
        "Привет.",
        "Hello.",
    )
    (tmp_path / "manifest.tsv").write_text("id\taudio\nbye\taudio/bye.flac\n")
    with pytest.raises(PipelineError, match=r"manifest\.tsv: line 2: audio/bye\.flac not found"):
        load_dataset(tmp_path)


def test_a_tsv_with_a_bad_row_or_a_missing_column_is_an_error(tmp_path: Path):
    touch(tmp_path, "a.wav")
    (tmp_path / "a.tsv").write_text(TSV_HEADER + "0.5\tlater\tS1\tДа.\tYes.\n")
    with pytest.raises(PipelineError, match=r"a\.tsv: line 2: start/end must be numbers"):
        load_dataset(tmp_path)
    (tmp_path / "a.tsv").write_text("start\tend\tru\n0.5\t1.0\tДа.\n")
    with pytest.raises(PipelineError, match=r"a\.tsv: missing column\(s\): speaker"):
        load_dataset(tmp_path)


def run_eval(*args: str | Path) -> subprocess.CompletedProcess:
    return run_pipeline("eval", *args, timeout=120)


def test_a_folder_without_media_is_one_line_error(tmp_path: Path):
    (tmp_path / "ref.rttm").write_text("SPEAKER a 1 1.0 2.0 <NA> <NA> A <NA> <NA>\n")
    result = run_eval(tmp_path, "--no-baseline", "--out", tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no media files (mp4, wav, ...) and no manifest.tsv: "
        "nothing to evaluate"
    ]
    assert not (tmp_path / "out").exists()
    missing = run_eval(tmp_path / "nowhere", "--no-baseline")
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: {tmp_path / 'nowhere'}: dataset folder not found"


# --- a real run ----------------------------------------------------------------------------------

# The first 12.2 s of the bundled sample (two speakers, three turns), then 3 s of pink noise
# where nobody speaks: the pipeline must write nothing there.
CUT = 12.2
NOISE = 3.0


@pytest.fixture(scope="module")
def council_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dataset")
    chain = (
        f"[0:a]atrim=0:{CUT},asetpts=N/SR/TB,aresample=16000[speech];"
        f"anoisesrc=d={NOISE}:c=pink:a=0.02:r=16000[noise];"
        "[speech][noise]concat=n=2:v=0:a=1[out]"
    )
    support.ffmpeg(
        "-i", SAMPLE, "-filter_complex", chain, "-map", "[out]", "-ac", "1", folder / "council.wav"
    )
    rows = SAMPLE.with_suffix(".tsv").read_text(encoding="utf-8").splitlines()
    kept = [row for row in rows[1:] if float(row.split("\t")[1]) <= CUT]
    (folder / "council.tsv").write_text("\n".join([rows[0], *kept]) + "\n", encoding="utf-8")
    rttm = [
        line
        for line in SAMPLE.with_suffix(".rttm").read_text().splitlines()
        if float(line.split()[3]) + float(line.split()[4]) <= CUT
    ]
    (folder / "council.rttm").write_text("\n".join(rttm) + "\n")
    (folder / "council.uem").write_text(f"council 1 0.000 {CUT + NOISE:.3f}\n")
    return folder


@pytest.fixture(scope="module")
def eval_report(council_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval") / "report"
    labels = tmp_path_factory.mktemp("labels")  # the sample's hand labels; same timeline
    shutil.copy(
        REPO / "samples" / "translation_labels" / "council_sample.mp4.tsv",
        labels / "council.wav.tsv",
    )
    options = ["--out", str(out), "--no-baseline", "--quiet", "--labels", str(labels)]
    status = main(["eval", str(council_dataset), *options])
    return status, out


def test_eval_scores_a_real_two_speaker_recording(eval_report):
    status, out = eval_report
    assert status == 0
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    [scores] = report["files"]
    assert scores["id"] == "council.wav" and scores["error"] is None
    assert scores["references"] == ["council.rttm", "council.tsv", "council.uem"]
    assert scores["audio_seconds"] == pytest.approx(CUT + NOISE, abs=0.1)
    assert 0 < scores["text"]["wer"] < 0.30
    assert scores["text"]["words"]["hits"] > 10
    assert scores["text_numbers"]["wer"] <= scores["text"]["wer"] + 1e-9
    assert 0 < scores["text"]["cer"] < scores["text"]["wer"] + 0.1
    assert 0 <= scores["der"]["rate"] < 0.25
    assert scores["der_collar"]["rate"] <= scores["der"]["rate"]
    assert scores["der"]["total"] == pytest.approx(2.82 + 6.15 + 1.38, abs=0.01)
    assert scores["speakers_reference"] == 2 and scores["speakers_found"] >= 1
    assert scores["speaker_count"]["method"] == "threshold"
    assert scores["speaker_count"]["speakers"] == scores["speakers_found"]
    assert scores["attribution"]["scored"] > 10 and scores["attribution"]["rate"] < 0.3
    assert scores["hallucinated_words"] == 0 and scores["hallucinated_cues"] == 0
    assert scores["hallucinations"] == []
    assert len(scores["translation_rows"]) == 3  # one per reference turn
    assert 0 < scores["translation"]["bleu"] <= 100 and 0 < scores["translation"]["chrf"] <= 100
    assert scores["cues"] > 0 and scores["baseline"] is None
    checks = scores["checks"]  # every English sentence scored against the label it overlaps
    scored = sum(
        checks[k] for k in ("flagged_wrong", "flagged_right", "passed_wrong", "passed_right")
    )
    sentences = json.loads((out / "transcripts" / "council.wav.json").read_text())["sentences"]
    english = [s for s in sentences if (s["translation"] or "").strip()]  # none to judge else
    assert checks["unlabelled"] == 0 and scored == len(english) > 0
    overall = report["overall"]
    assert overall["text"]["wer"] == pytest.approx(scores["text"]["wer"])
    assert overall["files"] == 1 and overall["failed"] == 0
    right = scores["speakers_found"] == scores["speakers_reference"]
    assert overall["speakers_right"] == right and overall["speakers_right_share"] == right
    assert overall["wer_ratio_to_baseline"] is None


def test_eval_writes_the_transcript_and_a_readable_table(eval_report):
    _, out = eval_report
    transcript = json.loads((out / "transcripts" / "council.wav.json").read_text(encoding="utf-8"))
    assert transcript["source"]["name"] == "council.wav" and transcript["segments"]
    table = (out / "eval.md").read_text(encoding="utf-8")
    assert "| council.wav |" in table and "| **all** |" in table
    assert "DER ±0.25 s" in table and "whisper CLI s" in table


def test_the_whisper_cli_gets_as_many_threads_as_the_pipeline_keeps_busy(tmp_path: Path):
    side_by_side = Config()
    alone = load_config(None, {"runtime.parallel": "false", "runtime.threads": "3"})
    for config, threads in [(side_by_side, "2"), (alone, "3")]:
        command = whisper_cli_command(
            [tmp_path / "a.mp4"], "base", "ru", cli_threads(config), tmp_path
        )
        assert command[command.index("--threads") + 1] == threads


def test_the_whisper_cli_baseline_is_scored_and_cached_by_file_hash(short_speech: Path, tmp_path):
    config = Config()
    cache = model_cache_dir()
    first = cached_whisper_cli(short_speech, config, cache, tmp_path / "cli")
    again = cached_whisper_cli(short_speech, config, cache, tmp_path / "cli")
    assert not first.cached and again.cached and again.text == first.text
    assert first.seconds > 0 and first.model == "base"
    [stored] = (tmp_path / "cli").iterdir()
    assert stored.name.endswith(".base.ru.t2.json")  # two threads: the pipeline's two cores
    errors = text_errors(support.prompt_texts()["conf-kicked"], first.text)
    # Measured: 2 of its 6 words wrong, 3 of 38 characters.
    assert errors is not None and errors.words.rate <= 0.5 and errors.characters.rate < 0.15


def test_a_file_failing_with_any_error_is_recorded_and_the_eval_goes_on(
    short_speech: Path, tmp_path: Path, capsys, library_failure
):
    """A library's ValueError (not a PipelineError) on every file."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.wav", "b.wav"):
        (data / name).write_bytes(short_speech.read_bytes())
    out = tmp_path / "out"
    args = ["eval", str(data), "--out", str(out), "--no-baseline", "--quiet"]
    status = main([*args, "--set", "diarization.enabled=false"])
    assert status == 1
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in report["files"]] == ["a.wav", "b.wav"]
    for row in report["files"]:
        assert row["error"] == f"{data / row['id']}: {UNEXPECTED}"
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "Traceback" not in "\n".join(errors)


def test_the_whisper_cli_translate_task_gives_timed_english(short_speech: Path, tmp_path):
    """The yardstick for our English: the plain CLI's --task translate, cached apart."""
    config = Config()
    run = cached_whisper_cli(short_speech, config, model_cache_dir(), tmp_path / "cli", "translate")
    assert run.task == "translate" and "conference" in run.text.lower()
    assert run.segments and all(start <= end for start, end, _ in run.segments)
    assert run.cpu_seconds > 0
    [stored] = (tmp_path / "cli").iterdir()
    assert stored.name.endswith(".base.ru.translate.t2.json")


def test_many_files_share_one_cli_command_and_each_is_stored_as_if_run_alone(
    short_speech: Path, tmp_path: Path
):
    """Two files of one name in two folders, and a file the CLI cannot read: the two are
    stored with the text a run of their own gives; the broken one is left to a run alone."""
    config = Config()
    cache = model_cache_dir()
    alone = cached_whisper_cli(short_speech, config, cache, tmp_path / "alone")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other = support.concat_prompts(["auth-incorrect"], tmp_path / "b" / "x.wav")
    same_name = tmp_path / "a" / "x.wav"
    same_name.write_bytes(short_speech.read_bytes())
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    folder = tmp_path / "cli"
    ran = prefetch_whisper_cli([same_name, other, broken], config, cache, folder)
    assert ran == 3 and len(list(folder.iterdir())) == 2
    first = cached_whisper_cli(same_name, config, cache, folder)
    second = cached_whisper_cli(other, config, cache, folder)
    assert first.cached and first.files_in_command == 3 and first.text == alone.text
    reference = support.prompt_texts()["auth-incorrect"]
    # Measured: 3 of 7 words wrong («не верен», «видите»).
    assert second.files_in_command == 3 and support.word_error_rate(reference, second.text) < 0.5
