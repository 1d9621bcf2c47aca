"""Russian speech in video clips to speaker-attributed, timed subtitles."""

__version__ = "0.1.0"
