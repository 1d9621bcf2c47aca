"""Russian speech in video clips to speaker-attributed, timed subtitles.

For researchers: `pipeline.load(path)` reads a transcript JSON or any SRT back
into a `pipeline.types.Transcript`; `.to_dataframe()` turns it into pandas.
"""

from pipeline.loader import load

__all__ = ["load"]
__version__ = "0.1.0"
