"""A corpus of bad and odd inputs, made with ffmpeg and Python: what a hostile tester tries.

    .venv/bin/python -m tests.hostile.corpus DIR     # build every case under DIR, list them

Each case is a command line for `python -m pipeline transcribe` and what must
come of it: `error` (exit 1, one line naming the file or option and saying
`problem`, no output file, every input unchanged) or `ok` (a sensible result).
Cases marked `ok` run the whole pipeline, so they are few; every `error` case
must fail before a model is loaded.

The speech is Debian's asterisk-core-sounds-ru-wav (real recordings, installed
by `make setup`) and the bundled sample clip.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests import support

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "council_sample.mp4"
SPEECH = support.ASTERISK_RU / "conf-kicked.wav"  # 2.7 s, one sentence
VIDEO = ["-f", "lavfi", "-i", "color=c=gray:s=64x36:r=25"]
FAST = ["--set", "diarization.enabled=false", "--set", "translate.engine=none"]


@dataclass
class Case:
    name: str
    clip: Path  # the input named on the command line
    expect: str  # "error" or "ok"
    problem: str = ""  # part of the one-line error (error cases)
    args: list[str] = field(default_factory=list)  # besides the clip and --out
    out: Path | None = None  # --out; default: a fresh folder beside the case

    def command(self, out: Path) -> list[str]:
        return ["transcribe", str(self.clip), "--out", str(self.out or out), *self.args]


Maker = Callable[[Path], Case]
MAKERS: dict[str, Maker] = {}


def case(function: Maker) -> Maker:
    MAKERS[function.__name__] = function
    return function


def build(root: Path, names: list[str] | None = None) -> list[Case]:
    """Every case (or those named), each in its own folder under `root`."""
    cases = []
    for name, make in MAKERS.items():
        if names is None or name in names:
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            cases.append(make(folder))
    return cases


def speech(path: Path, *args: str) -> Path:
    """The spoken sentence, re-encoded as `args` ask (16 kHz mono unless they say)."""
    support.ffmpeg("-i", SPEECH, *args, path)
    return path


def speech_video(path: Path, *args: str) -> Path:
    support.ffmpeg(*VIDEO, "-i", SPEECH, "-shortest", "-c:v", "libx264", *args, path)
    return path


def truncated(source: Path, path: Path, share: float) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


def flipped(source: Path, path: Path, count: int, seed: int, skip: int = 4096) -> Path:
    """`count` bytes inverted at random places after the first `skip` bytes."""
    data = bytearray(source.read_bytes())
    chance = random.Random(seed)
    for _ in range(count):
        data[chance.randrange(skip, len(data))] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


# Not a file, or not a readable one ---------------------------------------------------


@case
def missing(d: Path) -> Case:
    return Case("missing", d / "gone.mp4", "error", "file not found")


@case
def folder(d: Path) -> Case:
    (d / "clip.mp4").mkdir(exist_ok=True)
    return Case("folder", d / "clip.mp4", "error", "not a regular file (a folder)")


@case
def dangling_symlink(d: Path) -> Case:
    link = d / "clip.mp4"
    if not link.is_symlink():
        link.symlink_to(d / "moved-away.mp4")
    return Case("dangling_symlink", link, "error", "dangling symbolic link")


@case
def named_pipe(d: Path) -> Case:
    pipe = d / "clip.wav"
    if not pipe.exists():
        os.mkfifo(pipe)
    return Case("named_pipe", pipe, "error", "not a regular file (a named pipe)")


@case
def empty_file(d: Path) -> Case:
    (d / "clip.mp4").write_bytes(b"")
    return Case("empty_file", d / "clip.mp4", "error", "not a readable media file")


@case
def text_as_mp4(d: Path) -> Case:
    (d / "clip.mp4").write_text("meeting notes, not media\n")
    return Case("text_as_mp4", d / "clip.mp4", "error", "not a")


@case
def random_bytes(d: Path) -> Case:
    (d / "clip.wav").write_bytes(random.Random(7).randbytes(50_000))
    return Case("random_bytes", d / "clip.wav", "error", "not a readable media file")


@case
def mp4_header_only(d: Path) -> Case:
    (d / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    return Case("mp4_header_only", d / "clip.mp4", "error", "not a readable media file")


@case
def png_as_mp4(d: Path) -> Case:
    support.ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", d / "red.png")
    shutil.copy(d / "red.png", d / "clip.mp4")
    return Case("png_as_mp4", d / "clip.mp4", "error", "is refused")


@case
def subtitles_as_mkv(d: Path) -> Case:
    (d / "clip.mkv").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n")
    return Case("subtitles_as_mkv", d / "clip.mkv", "error", "is refused")


# No usable audio ----------------------------------------------------------------------


@case
def video_only(d: Path) -> Case:
    support.ffmpeg(*VIDEO, "-t", "1", "-c:v", "libx264", d / "clip.mp4")
    return Case("video_only", d / "clip.mp4", "error", "no audio stream")


@case
def zero_length_wav(d: Path) -> Case:
    header = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1,
             16000, 32000, 2, 16) + b"data" + struct.pack("<I", 0)  # fmt: skip
    (d / "clip.wav").write_bytes(header)
    return Case("zero_length_wav", d / "clip.wav", "error", "zero-length audio")


@case
def missing_stream(d: Path) -> Case:
    clip = speech(d / "clip.wav")
    return Case("missing_stream", clip, "error", "audio.stream=3", ["--audio-stream", "3"])


@case
def missing_language(d: Path) -> Case:
    clip = speech(d / "clip.mkv", "-metadata:s:a:0", "language=rus")
    return Case("missing_language", clip, "error", "no audio stream in language 'deu'",
                ["--audio-language", "deu"])  # fmt: skip


# Inputs that name other files ---------------------------------------------------------


@case
def hls_playlist(d: Path) -> Case:
    (d / "clip.m3u8").write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:50\n#EXTINF:45,\n{SAMPLE}\n"
                                 "#EXT-X-ENDLIST\n")  # fmt: skip
    return Case("hls_playlist", d / "clip.m3u8", "error", "hls input is refused")


@case
def hls_playlist_as_mp4(d: Path) -> Case:
    (d / "clip.mp4").write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:50\n#EXTINF:45,\n{SAMPLE}\n")
    return Case("hls_playlist_as_mp4", d / "clip.mp4", "error", "hls input is refused")


@case
def remote_playlist(d: Path) -> Case:
    (d / "clip.m3u8").write_text("#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/never.ts\n")
    return Case("remote_playlist", d / "clip.m3u8", "error", "not a")


@case
def concat_list(d: Path) -> Case:
    (d / "clip.txt").write_text(f"ffconcat version 1.0\nfile '{SAMPLE}'\n")
    return Case("concat_list", d / "clip.txt", "error", "concat input is refused")


@case
def concat_list_as_wav(d: Path) -> Case:
    (d / "clip.wav").write_text(f"ffconcat version 1.0\nfile '{SAMPLE}'\n")
    return Case("concat_list_as_wav", d / "clip.wav", "error", "concat input is refused")


# Damaged media ------------------------------------------------------------------------


@case
def mp4_truncated_30(d: Path) -> Case:
    clip = truncated(SAMPLE, d / "clip.mp4", 0.3)
    return Case("mp4_truncated_30", clip, "error", "damaged media: decoded 11.8 s of the 44.8 s")


@case
def mp4_truncated_90(d: Path) -> Case:
    return Case("mp4_truncated_90", truncated(SAMPLE, d / "clip.mp4", 0.9), "error", "damaged")


@case
def mp4_bytes_flipped(d: Path) -> Case:
    clip = flipped(SAMPLE, d / "clip.mp4", 50, seed=1)
    return Case("mp4_bytes_flipped", clip, "error", "decoding error")


@case
def wav_truncated(d: Path) -> Case:
    whole = speech(d / "whole.wav", "-ar", "16000")
    clip = truncated(whole, d / "clip.wav", 0.4)
    whole.unlink()
    return Case("wav_truncated", clip, "error", "damaged media: decoded 1.1 s, 2 decoding error")


@case
def mp4_cut_mid_moov(d: Path) -> Case:
    return Case("mp4_cut_mid_moov", truncated(SAMPLE, d / "clip.mp4", 0.01), "error", "not a")


@case
def ogg_truncated(d: Path) -> Case:
    whole = speech(d / "whole.ogg", "-c:a", "libvorbis")
    clip = truncated(whole, d / "clip.ogg", 0.5)
    whole.unlink()
    return Case("ogg_truncated", clip, "error", "not a readable media file")


# Paths: inputs never written, output folders that cannot be used --------------------------


@case
def clip_named_like_its_json(d: Path) -> Case:
    shutil.copy(SAMPLE, d / "evidence.json")
    return Case("clip_named_like_its_json", d / "evidence.json", "error",
                "an input that an output written into", out=d)  # fmt: skip


@case
def clip_named_like_its_tsv(d: Path) -> Case:
    speech(d / "talk.tsv", "-f", "wav")
    return Case("clip_named_like_its_tsv", d / "talk.tsv", "error",
                "an input that an output written into", out=d)  # fmt: skip


@case
def config_where_an_output_goes(d: Path) -> Case:
    clip = speech(d / "talk.wav")
    (d / "out").mkdir(exist_ok=True)
    (d / "out" / "talk.json").write_text("asr:\n  beam_size: 1\n")
    return Case("config_where_an_output_goes", clip, "error", "an input that an output",
                ["--config", str(d / "out" / "talk.json")], out=d / "out")  # fmt: skip


@case
def out_is_a_file(d: Path) -> Case:
    (d / "taken").write_text("a file, not a folder\n")
    return Case("out_is_a_file", speech(d / "clip.wav"), "error", "output folder is a file",
                out=d / "taken")  # fmt: skip


@case
def out_under_a_file(d: Path) -> Case:
    (d / "taken").write_text("a file, not a folder\n")
    return Case("out_under_a_file", speech(d / "clip.wav"), "error",
                "output folder lies under a file", out=d / "taken" / "sub")  # fmt: skip


@case
def name_too_long(d: Path) -> Case:
    clip = speech(d / ("я" * 124 + ".wav"))  # 252 bytes: its outputs' names would pass 255
    return Case("name_too_long", clip, "error", "name too long for its output files")


# Options --------------------------------------------------------------------------------


def _option_case(name: str, d: Path, problem: str, *args: str) -> Case:
    return Case(name, speech(d / "clip.wav"), "error", problem, list(args))


@case
def unknown_language(d: Path) -> Case:
    return _option_case("unknown_language", d, "asr.language", "--set", "asr.language=xx")


@case
def thousand_speakers(d: Path) -> Case:
    return _option_case("thousand_speakers", d, "num_speakers", "--set",
                        "diarization.num_speakers=1000")  # fmt: skip


@case
def min_above_max_speakers(d: Path) -> Case:
    return _option_case("min_above_max_speakers", d, "min_speakers (5) is more than",
                        "--set", "diarization.min_speakers=5",
                        "--set", "diarization.max_speakers=2")  # fmt: skip


@case
def name_with_newline(d: Path) -> Case:
    return _option_case("name_with_newline", d, "one line", "--set",
                        'diarization.names={SPEAKER_00: "Глава\\nадминистрации"}')  # fmt: skip


@case
def frame_rate_absurd(d: Path) -> Case:
    return _option_case("frame_rate_absurd", d, "output.frame_rate", "--set",
                        "output.frame_rate=0.001")  # fmt: skip


@case
def gap_absurd(d: Path) -> Case:
    return _option_case("gap_absurd", d, "output.min_gap_frames", "--set",
                        "output.min_gap_frames=100000")  # fmt: skip


@case
def zero_line_length(d: Path) -> Case:
    return _option_case("zero_line_length", d, "output.line_chars.ru", "--set",
                        "output.line_chars.ru=0")  # fmt: skip


@case
def hot_temperature(d: Path) -> Case:
    return _option_case("hot_temperature", d, "asr.temperatures", "--set",
                        "asr.temperatures=[50]")  # fmt: skip


@case
def unknown_option(d: Path) -> Case:
    return _option_case("unknown_option", d, "unknown option asr.beam", "--set", "asr.beam=5")


@case
def malformed_set(d: Path) -> Case:
    return _option_case("malformed_set", d, "expected section.key=value", "--set", "beam")


@case
def duplicate_yaml_keys(d: Path) -> Case:
    (d / "options.yaml").write_text("asr:\n  beam_size: 5\n  beam_size: 1\n")
    return _option_case("duplicate_yaml_keys", d, "duplicate key 'beam_size'",
                        "--config", str(d / "options.yaml"))  # fmt: skip


@case
def yaml_not_a_mapping(d: Path) -> Case:
    (d / "options.yaml").write_text("- asr\n- vad\n")
    return _option_case("yaml_not_a_mapping", d, "mapping of sections",
                        "--config", str(d / "options.yaml"))  # fmt: skip


@case
def yaml_unsafe_tag(d: Path) -> Case:
    (d / "options.yaml").write_text("asr: !!python/object/apply:os.system ['true']\n")
    return _option_case("yaml_unsafe_tag", d, "invalid YAML",
                        "--config", str(d / "options.yaml"))  # fmt: skip


@case
def config_missing(d: Path) -> Case:
    return _option_case("config_missing", d, "config file not found",
                        "--config", str(d / "nowhere.yaml"))  # fmt: skip


# Odd but valid: a sensible result --------------------------------------------------------


@case
def phase_inverted_stereo(d: Path) -> Case:
    clip = speech(d / "clip.wav", "-af", "pan=stereo|c0=c0|c1=-1*c0", "-ar", "16000")
    return Case("phase_inverted_stereo", clip, "ok", args=FAST)


@case
def slide_show_1fps(d: Path) -> Case:
    clip = d / "clip.mp4"
    support.ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=64x36:r=1", "-i", SPEECH,
                   "-shortest", "-c:v", "libx264", "-c:a", "aac", clip)  # fmt: skip
    return Case("slide_show_1fps", clip, "ok", args=FAST)


@case
def long_name(d: Path) -> Case:
    clip = speech(d / ("z" * 232 + ".wav"))  # 236 characters: temporary names must still fit
    return Case("long_name", clip, "ok", args=FAST)


@case
def dash_name_and_spaces(d: Path) -> Case:
    clip = speech(d / "-запись 1 (копия).mkv", "-c:a", "libopus")
    return Case("dash_name_and_spaces", clip, "ok", args=FAST)


@case
def silent_default_track(d: Path) -> Case:
    clip = d / "clip.mkv"
    support.ffmpeg("-f", "lavfi", "-t", "2.7", "-i", "anullsrc=r=16000:cl=mono", "-i", SPEECH,
                   "-map", "0:a", "-map", "1:a", "-c:a", "libopus",
                   "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=rus",
                   "-disposition:a:0", "default", "-disposition:a:1", "0", clip)  # fmt: skip
    return Case("silent_default_track", clip, "ok", args=FAST)


@case
def damaged_allowed(d: Path) -> Case:
    clip = truncated(SAMPLE, d / "clip.mp4", 0.3)
    return Case("damaged_allowed", clip, "ok", args=[*FAST, "--allow-damaged"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder to build the cases in")
    args = parser.parse_args()
    for item in build(args.root):
        print(f"{item.name:32} {item.expect:6} {item.problem}")


if __name__ == "__main__":
    main()
