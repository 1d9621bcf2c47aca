"""`<clip>.html`: the review page, one self-contained file per clip.

The page is a fixed template (`page.html`: markup, style and script, no network,
no CDN) with the transcript embedded as JSON; the script builds the table,
the legend and the subtitle tracks from it with DOM text nodes, so nothing in
a transcript can inject markup. The clip is referenced by a relative URL, so
the page plays it from `file://` as long as the two keep their places.
"""

from __future__ import annotations

import html
import json
import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from pipeline.types import Transcript

# Words Whisper gave less probability than this are shaded for review.
LOW_CONFIDENCE = 0.5
# Words whose speaker talks less than this share of their time are marked doubtful.
DOUBTFUL_SPEAKER = 0.5


def render_page(
    transcript: Transcript, clip: Path, out_dir: Path, media: Path | None = None
) -> str:
    """The review page of `transcript`, to be written into `out_dir` beside the outputs.

    Named after `clip`; it plays `media` (default: `clip`).
    """
    data = {
        "transcript": transcript.to_dict(),
        "media": media_url(media or clip, out_dir),
        "stem": clip.stem,
        "low_confidence": LOW_CONFIDENCE,
        "doubtful_speaker": DOUBTFUL_SPEAKER,
    }
    # "<" escaped keeps "</script>" inside a transcript from ending the data block.
    embedded = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    head, tail = _template().split("__DATA__")
    title = html.escape(f"{transcript.source.name}: review")
    return head.replace("__TITLE__", title) + embedded + tail


def media_url(clip: Path, out_dir: Path) -> str:
    """The clip's address relative to the page (percent-encoded, `/` separated)."""
    relative = os.path.relpath(Path(clip).absolute(), Path(out_dir).absolute())
    return quote(Path(relative).as_posix())


@cache
def _template() -> str:
    return files("pipeline.publish").joinpath("page.html").read_text(encoding="utf-8")
