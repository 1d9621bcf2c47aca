"""Russian speech in video clips to speaker-attributed, timed subtitles.

For researchers: `pipeline.load(path)` reads a transcript JSON or any SRT back
into a `pipeline.types.Transcript`; `.to_dataframe()` turns it into pandas.
"""

import os

# Whisper's word timing uses numba, whose OpenMP start-up raised the process's
# threads to one per core: torch then ran every later stage with 2 threads on 2
# busy cores, and VAD and diarization of the next clip took 10-50x longer.
# numba reads this when it is imported, so it is set before anything imports it.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from pipeline.loader import load

__all__ = ["load"]
__version__ = "0.1.0"
