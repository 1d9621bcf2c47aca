"""The review page in a real browser: Debian's chromium driven by selenium, from file://."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import srt

import pipeline
from pipeline.publish.render import render_file
from tests.conftest import REPO, SAMPLE
from tests.publish import browser

GOLDEN_JSON = REPO / "tests" / "golden" / "council_sample.json"


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
def page(tmp_path_factory) -> Path:
    """The sample's outputs rendered from its golden transcript, the clip one folder up."""
    root = tmp_path_factory.mktemp("review")
    clip = root / "clips" / "council_sample.mp4"
    clip.parent.mkdir()
    shutil.copy(SAMPLE, clip)
    render_file(GOLDEN_JSON, root / "out", clip)
    return root / "out" / "council_sample.html"


@pytest.fixture(scope="module")
def golden() -> pipeline.types.Transcript:
    return pipeline.load(GOLDEN_JSON)


def open_page(driver, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.getElementById('player').readyState >= 1")
    )


def player_time(driver) -> float:
    return driver.execute_script("return document.getElementById('player').currentTime")


def test_page_loads_from_disk_with_no_error_and_a_row_per_sentence(chromium, page, golden):
    driver, _ = chromium
    open_page(driver, page)  # the clip itself played from its relative path
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "tr.sentence")
    assert [int(row.get_attribute("data-id")) for row in rows] == [s.id for s in golden.sentences]
    assert [row.find_element(By.CSS_SELECTOR, "td.source").text for row in rows] == [
        s.text for s in golden.sentences
    ]
    assert [row.find_element(By.CSS_SELECTOR, "td.target").text for row in rows] == [
        s.translation for s in golden.sentences
    ]
    tracks = driver.execute_script(
        "return Array.from(document.getElementById('player').textTracks)"
        ".map(t => [t.language, t.mode, t.cues.length])"
    )
    assert tracks == [
        ["ru", "hidden", len(golden.cues["ru"])],
        ["en", "hidden", len(golden.cues["en"])],
        ["ru", "showing", len(golden.cues["ru-en"])],
    ]
    first_cue = driver.execute_script(
        "return document.getElementById('player').textTracks[0].cues[0].text"
    )
    assert first_cue.startswith("[SPEAKER_00]: Здравствуйте")  # the speaker shown on the video
    assert browser.console_errors(driver) == []


def test_clicking_a_row_or_a_word_seeks_and_highlights(chromium, page, golden):
    driver, _ = chromium
    open_page(driver, page)
    from selenium.webdriver.common.by import By

    sentence = golden.sentences[3]
    row = driver.find_element(By.CSS_SELECTOR, f"tr.sentence[data-id='{sentence.id}']")
    row.find_element(By.CSS_SELECTOR, "td.time").click()
    assert player_time(driver) == pytest.approx(sentence.start, abs=0.01)
    _wait(lambda: "playing" in row.get_attribute("class"))

    later = golden.sentences[7]
    word = golden.words[later.first_word + 2]
    driver.find_elements(By.CSS_SELECTOR, f"tr.sentence[data-id='{later.id}'] .word")[2].click()
    assert player_time(driver) == pytest.approx(word.start, abs=0.01)
    assert browser.console_errors(driver) == []


def test_rename_and_corrections_export_a_json_that_renders(chromium, page, golden, tmp_path):
    driver, downloads = chromium
    open_page(driver, page)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    name = driver.find_element(By.CSS_SELECTOR, "#legend input[data-label='SPEAKER_01']")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Wife 1")
    row = driver.find_element(By.CSS_SELECTOR, "tr.sentence[data-id='1']")
    for cell, text in (("td.source", "Добрый вечер, коллеги."), ("td.target", "Good evening.")):
        editable = row.find_element(By.CSS_SELECTOR, cell)
        editable.click()
        editable.send_keys(Keys.CONTROL, "a")
        editable.send_keys(text)
    driver.find_element(By.ID, "export").click()
    exported = downloads / "council_sample.corrected.json"
    _wait(lambda: exported.is_file() and exported.stat().st_size > 0)
    assert browser.console_errors(driver) == []

    corrected = pipeline.load(exported)  # the same schema, read by the same reader
    assert corrected.speakers == {"SPEAKER_00": "SPEAKER_00", "SPEAKER_01": "Wife 1"}
    assert corrected.sentences[1].text == "Добрый вечер, коллеги."
    assert corrected.sentences[1].translation == "Good evening."
    assert corrected.segments == golden.segments  # what the model heard is kept
    edits = {(e.kind, e.speaker, e.sentence_id): (e.original, e.corrected) for e in corrected.edits}
    assert edits == {
        ("speaker_name", "SPEAKER_01", None): ("SPEAKER_01", "Wife 1"),
        ("text", None, 1): ("Добрый день, коллеги.", "Добрый вечер, коллеги."),
        ("translation", None, 1): ("Good day, colleagues!", "Good evening."),
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
    russian = list(srt.parse((out / "council_sample.ru.srt").read_text(encoding="utf-8")))
    assert "[Wife 1]: Добрый вечер, коллеги." in [cue.content for cue in russian]
    english = (out / "council_sample.en.srt").read_text(encoding="utf-8")
    assert "[Wife 1]: Good evening." in english
    assert "[Wife 1]: Добрый вечер, коллеги." in (out / "council_sample.ru.vtt").read_text()
    assert len(json.loads((out / "council_sample.json").read_text())["edits"]) == 3


def test_text_in_a_transcript_cannot_inject_markup(chromium, tmp_path):
    driver, _ = chromium
    data = json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
    hostile = "</script><img src=x onerror=\"document.title='owned'\"> & <b>bold</b>"
    data["sentences"][0]["translation"] = hostile
    data["speakers"]["SPEAKER_00"] = "<i>Chair</i>"
    (tmp_path / "clip.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    shutil.copy(SAMPLE, tmp_path / "council_sample.mp4")
    render_file(tmp_path / "clip.json", tmp_path / "out")
    open_page(driver, tmp_path / "out" / "council_sample.html")
    from selenium.webdriver.common.by import By

    cell = driver.find_element(By.CSS_SELECTOR, "tr.sentence[data-id='0'] td.target")
    assert cell.text == hostile
    assert driver.find_elements(By.CSS_SELECTOR, "td img, td b, .chip i") == []
    assert driver.title == "council_sample.mp4: review"
    assert browser.console_errors(driver) == []


def _wait(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting in the browser")
        time.sleep(0.1)
