"""The review page in a real browser: Debian's chromium driven by selenium, from file://."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt

import pipeline
from pipeline.publish.render import render_file
from tests.conftest import REPO
from tests.publish import browser


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    problem = browser.missing()
    if problem:
        pytest.fail(problem)  # never a silent skip: `make setup` installs the browser
    downloads = tmp_path_factory.mktemp("downloads")
    driver = browser.start(downloads)
    yield driver, downloads
    driver.quit()


@pytest.fixture(scope="module")
def page(sample_run) -> Path:
    """The page `transcribe` wrote beside the outputs; the clip lies in a sibling folder."""
    return sample_run.out / "council.html"


@pytest.fixture(scope="module")
def transcript(sample_run) -> pipeline.types.Transcript:
    return pipeline.load(sample_run.json)


def open_page(driver, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.getElementById('player').readyState >= 1")
    )


def player_time(driver) -> float:
    return driver.execute_script("return document.getElementById('player').currentTime")


def test_page_loads_from_disk_with_no_error_and_a_row_per_sentence(chromium, page, transcript):
    driver, _ = chromium
    open_page(driver, page)  # the clip itself played from its relative path
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "tr.sentence")
    ids = [int(row.get_attribute("data-id")) for row in rows]
    assert ids == [sentence.id for sentence in transcript.sentences]
    assert [row.find_element(By.CSS_SELECTOR, "td.source").text for row in rows] == [
        s.text for s in transcript.sentences
    ]
    assert [row.find_element(By.CSS_SELECTOR, "td.target").text for row in rows] == [
        s.translation for s in transcript.sentences
    ]
    tracks = driver.execute_script(
        "return Array.from(document.getElementById('player').textTracks)"
        ".map(t => [t.language, t.mode, t.cues.length])"
    )
    assert tracks == [
        ["ru", "hidden", len(transcript.cues["ru"])],
        ["en", "hidden", len(transcript.cues["en"])],
        ["ru", "showing", len(transcript.cues["ru-en"])],
    ]
    first = transcript.cues[transcript.language][0]
    first_cue = driver.execute_script(
        "return document.getElementById('player').textTracks[0].cues[0].text"
    )
    assert first_cue.startswith(f"[{first.speaker}]: {first.lines[0]}")  # the name is shown
    assert browser.console_errors(driver) == []


def test_clicking_a_row_or_a_word_seeks_and_highlights(chromium, page, transcript):
    driver, _ = chromium
    open_page(driver, page)
    from selenium.webdriver.common.by import By

    sentence = transcript.sentences[2]
    row = driver.find_element(By.CSS_SELECTOR, f"tr.sentence[data-id='{sentence.id}']")
    row.find_element(By.CSS_SELECTOR, "td.time").click()
    assert player_time(driver) == pytest.approx(sentence.start, abs=0.01)
    _wait(lambda: "playing" in row.get_attribute("class"))

    later = transcript.sentences[1]
    word = transcript.words[later.first_word + 1]
    driver.find_elements(By.CSS_SELECTOR, f"tr.sentence[data-id='{later.id}'] .word")[1].click()
    assert player_time(driver) == pytest.approx(word.start, abs=0.01)
    assert browser.console_errors(driver) == []


def test_rename_and_corrections_export_a_json_that_renders(chromium, page, transcript, tmp_path):
    driver, downloads = chromium
    open_page(driver, page)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    label = transcript.sentences[1].speaker
    name = driver.find_element(By.CSS_SELECTOR, f"#legend input[data-label='{label}']")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Wife 1")
    row = driver.find_element(By.CSS_SELECTOR, "tr.sentence[data-id='1']")
    for cell, text in (("td.source", "Добрый вечер, коллеги."), ("td.target", "Good evening.")):
        editable = row.find_element(By.CSS_SELECTOR, cell)
        editable.click()
        editable.send_keys(Keys.CONTROL, "a")
        editable.send_keys(text)
    driver.find_element(By.ID, "export").click()
    exported = downloads / "council.corrected.json"
    _wait(lambda: exported.is_file() and exported.stat().st_size > 0)
    assert browser.console_errors(driver) == []

    corrected = pipeline.load(exported)  # the same schema, read by the same reader
    assert corrected.speakers == {**transcript.speakers, label: "Wife 1"}
    assert corrected.sentences[1].text == "Добрый вечер, коллеги."
    assert corrected.sentences[1].translation == "Good evening."
    assert corrected.segments == transcript.segments  # what the model heard is kept
    edits = {(e.kind, e.speaker, e.sentence_id): (e.original, e.corrected) for e in corrected.edits}
    assert edits == {
        ("speaker_name", label, None): (transcript.speakers[label], "Wife 1"),
        ("text", None, 1): (transcript.sentences[1].text, "Добрый вечер, коллеги."),
        ("translation", None, 1): (transcript.sentences[1].translation, "Good evening."),
    }

    out = tmp_path / "rendered"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "render", exported, "--out", out, "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    russian = list(srt.parse((out / "council.ru.srt").read_text(encoding="utf-8")))
    assert "[Wife 1]: Добрый вечер, коллеги." in [cue.content for cue in russian]
    english = (out / "council.en.srt").read_text(encoding="utf-8")
    assert "[Wife 1]: Good evening." in english
    assert "[Wife 1]: Добрый вечер, коллеги." in (out / "council.ru.vtt").read_text()
    assert len(json.loads((out / "council.json").read_text())["edits"]) == 3


def test_text_in_a_transcript_cannot_inject_markup(chromium, sample_run, tmp_path):
    driver, _ = chromium
    data = json.loads(sample_run.json.read_text(encoding="utf-8"))
    hostile = "</script><img src=x onerror=\"document.title='owned'\"> & <b>bold</b>"
    data["sentences"][0]["translation"] = hostile
    data["speakers"][data["sentences"][0]["speaker"]] = "<i>Chair</i>"
    (tmp_path / "hostile.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    render_file(tmp_path / "hostile.json", tmp_path / "out", sample_run.clip)
    open_page(driver, tmp_path / "out" / "council.html")
    from selenium.webdriver.common.by import By

    cell = driver.find_element(By.CSS_SELECTOR, "tr.sentence[data-id='0'] td.target")
    assert cell.text == hostile
    assert driver.find_element(By.CSS_SELECTOR, "tr.sentence[data-id='0'] .chip").text == (
        "<i>Chair</i>"
    )
    assert driver.find_elements(By.CSS_SELECTOR, "td img, td b, .chip i") == []
    assert driver.title == "council.mp4: review"
    assert browser.console_errors(driver) == []


def _wait(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting in the browser")
        time.sleep(0.1)
