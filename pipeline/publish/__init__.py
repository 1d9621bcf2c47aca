"""After the models: review a transcript, render it again, publish the video.

- `page`: `<clip>.html`, one self-contained review page per clip (player with
  subtitles, transcript table, speaker renaming, text correction, export of
  the corrected JSON);
- `render`: every output rebuilt from a (corrected) JSON, with no model;
- `burn`: `<clip>.<track>.mp4`, subtitles burned into the video by ffmpeg/libass.
"""
