"""Take docs/review-page.png: the review page of the bundled sample, in chromium.

    .venv/bin/python -m tests.publish.screenshot

The page is rendered from the sample's golden transcript (a real pipeline run),
with the two speakers named, and shown paused in the middle of a sentence.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from pipeline.publish.render import render_file
from tests.conftest import REPO, SAMPLE
from tests.publish import browser

OUT = REPO / "docs" / "review-page.png"
NAMES = {"diarization.names": {"SPEAKER_00": "Operator", "SPEAKER_01": "Councillor"}}
AT_SECONDS = 26.0


def main() -> int:
    problem = browser.missing()
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        shutil.copy(SAMPLE, root / SAMPLE.name)
        (root / "in").mkdir()
        shutil.copy(REPO / "tests" / "golden" / "council_sample.json", root / "in")
        render_file(root / "in" / "council_sample.json", root, root / SAMPLE.name, None, NAMES)
        driver = browser.start(root, 1400, 860)
        try:
            driver.get((root / "council_sample.html").as_uri())
            driver.execute_script(
                "const p = document.getElementById('player'); p.currentTime = arguments[0];",
                AT_SECONDS,
            )
            time.sleep(2)  # the frame and its cue drawn
            driver.save_screenshot(str(OUT))
        finally:
            driver.quit()
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
