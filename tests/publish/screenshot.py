"""Take docs/review-page.png: the review page of the bundled sample, in chromium.

    make transcribe                                  # out/council_sample.json, a real run
    .venv/bin/python -m tests.publish.screenshot [out/council_sample.json]

The page is rendered from that transcript with the two speakers named, and
shown paused in the middle of a sentence.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipeline.publish.render import render_file
from tests.conftest import REPO, SAMPLE
from tests.publish import browser

OUT = REPO / "docs" / "review-page.png"
OPTIONS = {
    "diarization.names": {"SPEAKER_00": "Operator", "SPEAKER_01": "Councillor"},
    "output.formats": ["html"],  # also for a JSON recorded before the page existed
}
AT_SECONDS = 26.0


def main() -> int:
    transcript = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "out" / "council_sample.json")
    problem = browser.missing() or (
        None if transcript.is_file() else f"{transcript}: not found; run `make transcribe` first"
    )
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        shutil.copy(SAMPLE, root / SAMPLE.name)
        render_file(transcript, root, root / SAMPLE.name, None, OPTIONS)
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
