"""Rebuild the golden outputs of the bundled sample after an intended change.

    .venv/bin/python tests/golden/regenerate.py            # cues and files from the JSON here
    .venv/bin/python tests/golden/regenerate.py --run      # first run the whole pipeline again

The golden JSON is a real pipeline run on samples/council_sample.mp4. The
subtitle, TSV and RTTM files are rebuilt from it by the cue builder and the
writers; tests/test_writers.py checks that they come out byte for byte the
same. Review the diff before committing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
SAMPLE = "samples/council_sample.mp4"
FORMATS = ["srt", "vtt", "json", "rttm", "tsv"]


def rebuild(json_path: Path, out_dir: Path) -> list[Path]:
    """Lay out the cues of the transcript in `json_path` again and write every file."""
    from pipeline import load
    from pipeline.config import OutputOptions
    from pipeline.stages.subtitles import build_tracks
    from pipeline.stages.writers import write_outputs

    transcript = load(json_path)
    target = "en" if any(s.translation for s in transcript.sentences) else None
    transcript.cues, transcript.violations = build_tracks(
        transcript.words,
        transcript.sentences,
        transcript.language,
        target,
        OutputOptions(),
        transcript.source.frame_rate,
        transcript.speakers or None,
    )
    return write_outputs(transcript, Path(SAMPLE), out_dir, FORMATS)


def run_pipeline() -> None:
    import json

    from pipeline.config import Config
    from pipeline.models.registry import Models
    from pipeline.run import process_clip
    from pipeline.stages.writers import render_json

    transcript = process_clip(REPO / SAMPLE, Config(), Models(Config()), progress=False)
    transcript.stage_seconds = {stage: 0.0 for stage in transcript.stage_seconds}
    text = render_json(transcript)
    json.loads(text)
    (GOLDEN / "council_sample.json").write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the pipeline on the sample first")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.run:
        run_pipeline()
    for path in rebuild(GOLDEN / "council_sample.json", GOLDEN):
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
