"""Command line: `python -m pipeline transcribe CLIP [options]`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.config import (
    Config,
    describe_options,
    load_config,
    parse_override,
    render_default_yaml,
)
from pipeline.errors import PipelineError, one_line

log = logging.getLogger("pipeline")


def main(argv: list[str] | None = None) -> int:
    """Run a command. Any error is one line, `error: <subject>: <problem>`, and exit
    status 1; with --debug, its traceback comes first."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(quiet=getattr(args, "quiet", False), debug=args.debug)
    return reporting_errors(lambda: args.handler(args), args)


def reporting_errors(command: Callable[[], int], args: argparse.Namespace) -> int:
    """`command()`'s exit status; an error becomes one line (and, with --debug, its traceback)."""
    try:
        return command()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # whatever goes wrong, the user gets one line, not a traceback
        if args.debug:
            traceback.print_exc()
        print(f"error: {_error_line(args, exc)}", file=sys.stderr)
        return 1


def _error_line(args: argparse.Namespace, exc: Exception) -> str:
    """`<subject>: <problem>`; an unexpected error is named by the command's input and type."""
    if isinstance(exc, PipelineError):
        return str(exc)
    subject = next(
        (str(getattr(args, name)) for name in ("clip", "folder", "data") if hasattr(args, name)),
        f"python -m pipeline {getattr(args, 'command', '')}".strip(),
    )
    problem = one_line(str(exc))
    return f"{subject}: {type(exc).__name__}" + (f": {problem}" if problem else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Russian speech in video clips to timed subtitles.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    options = _pipeline_options()
    _add_transcribe(commands, options)
    _add_batch(commands, options)
    _add_eval(commands, options)
    _add_render(commands)
    show = commands.add_parser(
        "config",
        parents=[_debug_option()],
        help="print the default configuration as commented YAML",
    )
    show.set_defaults(handler=_run_config)
    schema = commands.add_parser(
        "schema", parents=[_debug_option()], help="print the JSON Schema of <clip>.json"
    )
    schema.set_defaults(handler=_run_schema)
    return parser


def _debug_option() -> argparse.ArgumentParser:
    """--debug, which every command takes."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show its traceback too; log every detail (cache, workers)",
    )
    return options


def _setting_options() -> argparse.ArgumentParser:
    """--config and --set: every command that reads pipeline options takes them."""
    options = argparse.ArgumentParser(add_help=False, parents=[_debug_option()])
    options.add_argument("-c", "--config", type=Path, help="YAML file of options (see below)")
    options.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any pipeline option, e.g. --set translate.engine=none (repeatable)",
    )
    return options


def _pipeline_options() -> argparse.ArgumentParser:
    """The options every command that runs the pipeline takes."""
    options = argparse.ArgumentParser(add_help=False, parents=[_setting_options()])
    options.add_argument("--model", help="Whisper model: size name or .pt path (asr.model)")
    options.add_argument("--language", help="spoken language code, or auto (asr.language)")
    options.add_argument("--threads", type=int, help="torch threads (runtime.threads)")
    options.add_argument(
        "--allow-damaged",
        action="store_true",
        default=None,
        help="transcribe what decodes of damaged media instead of failing; the damage is "
        "recorded and warned about (audio.allow_damaged)",
    )
    return options


def _add_transcribe(commands: Any, options: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "transcribe",
        parents=[options],
        help="transcribe one clip into subtitles and JSON",
        description="Transcribe one clip. Writes <clip>.<lang>.srt, <clip>.<lang>.vtt and "
        "<clip>.json into the output folder.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_options_epilog(),
    )
    sub.add_argument(
        "clip",
        help="a local media file (mp4, mkv, webm, mov, m4a, mp3, ogg, wav, flac, ...) or an "
        "http(s) link to a video, downloaded once with yt-dlp into OUT/.media (fetch.store)",
    )
    sub.add_argument(
        "-o", "--out", type=Path, default=Path("out"), help="output folder (default: ./out)"
    )
    sub.add_argument("--beam-size", type=int, help="beam width; omit for greedy (asr.beam_size)")
    sub.add_argument("--prompt", help="initial prompt for Whisper (asr.initial_prompt)")
    sub.add_argument(
        "--glossary",
        action="extend",
        type=_terms,
        metavar="TERM[,TERM...]",
        help="names to spell right, e.g. Солдатов,Старобельск (asr.glossary; repeatable)",
    )
    sub.add_argument(
        "--audio-stream", type=int, metavar="N", help="N-th audio stream, from 0 (audio.stream)"
    )
    sub.add_argument(
        "--audio-language",
        metavar="LANG",
        help="audio stream tagged with this language (audio.language)",
    )
    _add_burn(sub)
    sub.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the stage cache (OUT/.cache): by default a rerun with only "
        "names or output options changed reuses every model's result",
    )
    _add_cookies(sub)
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress, only errors")
    sub.set_defaults(handler=_run_transcribe)


def _add_burn(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--burn",
        choices=["ru", "en", "ru-en"],
        help="also write <clip>.<track>.mp4 with this subtitle track burned in (output.burn)",
    )


def _add_cookies(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--cookies",
        metavar="FILE",
        help="cookies.txt to send when fetching links; none are read otherwise (fetch.cookies)",
    )


def _terms(text: str) -> list[str]:
    return [term.strip() for term in text.split(",") if term.strip()]


# Hand judgements of the dev data's English, kept with the project (not installed with it).
LABELS = Path(__file__).resolve().parents[1] / "samples" / "translation_labels"

_FLAG_KEYS = {
    "model": "asr.model",
    "language": "asr.language",
    "beam_size": "asr.beam_size",
    "prompt": "asr.initial_prompt",
    "glossary": "asr.glossary",
    "audio_stream": "audio.stream",
    "audio_language": "audio.language",
    "threads": "runtime.threads",
    "burn": "output.burn",
    "cookies": "fetch.cookies",
    "allow_damaged": "audio.allow_damaged",
}


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, _overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """`--set` values, then the named flags, which win."""
    overrides = dict(parse_override(item) for item in args.set)
    for flag, key in _FLAG_KEYS.items():
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = value
    return overrides


def _run_transcribe(args: argparse.Namespace) -> int:
    from pipeline.cache import CACHE_DIR, StageCache
    from pipeline.models.registry import Models, prepare_process
    from pipeline.run import NO_SPEECH, check_paths, folder_removed_on_failure, transcribe_clip
    from pipeline.stages.checks import summarise_checks
    from pipeline.stages.fetch import output_name, resolve_clip
    from pipeline.stages.subtitles import summarise

    config = config_from_args(args)
    with folder_removed_on_failure(args.out):
        clip, download = resolve_clip(args.clip, args.out, config.fetch)  # before any model
        check_paths(clip, args.out, _input_files(args, config))
        if config.output.burn:
            from pipeline.publish.burn import check_burnable

            check_burnable(clip)  # before hours of work, not after
        prepare_process(config)
        models = Models(config)
        models.check()
        # Stages are kept under OUT: a rerun with only names or output options changed (or a
        # link's second run) reads every model's result back.
        cache = StageCache(None if args.no_cache else args.out / CACHE_DIR)
        try:
            transcript, paths = transcribe_clip(
                clip, args.out, config, models, not args.quiet, cache, download=download
            )
        except PipelineError as exc:
            if download is None or Path(exc.subject).name != clip.name:
                raise
            raise PipelineError(download.url, f"{exc.problem} (the file it gave: {clip})") from None
    if cache.hits:
        log.info("from the stage cache: %s", ", ".join(cache.hits))
    if transcript.source.damage:
        log.warning(
            "%s: damaged media, only what decoded was transcribed: %s",
            args.clip,
            transcript.source.damage,
        )
    if NO_SPEECH in transcript.notes:
        log.warning("%s: %s; the subtitle files are empty", args.clip, NO_SPEECH)
    elif transcript.violations:
        log.warning("%s", summarise(transcript.cues, transcript.violations))
        log.warning("the JSON's `violations` lists each cue and the rule it breaks")
    else:
        log.info("%s", summarise(transcript.cues, transcript.violations))
    checked = summarise_checks(transcript.sentences)
    if checked:
        log.warning("%s", checked)
    if config.output.burn:
        stem = output_name(download) if download else clip.stem  # as the other outputs
        paths.append(_burn(transcript, clip, args.out, config, stem))
    for path in paths:
        log.info("wrote %s", path)
    return 0


def _input_files(args: argparse.Namespace, config: Config) -> list[Path]:
    """Files besides the clip that a run reads, so that no output may replace them."""
    named = [args.config, config.asr.model, config.translate.argos_package]
    return [Path(name) for name in named if name]


def _burn(
    transcript: Any, clip: Path, out_dir: Path, config: Config, stem: str | None = None
) -> Path:
    from pipeline.publish.burn import burn_subtitles

    track = config.output.burn
    log.info("burning the %s subtitles into %s", track, clip.name)
    return burn_subtitles(transcript, track, clip, out_dir, config.output, stem)


def _add_render(commands: Any) -> None:
    sub = commands.add_parser(
        "render",
        parents=[_setting_options()],
        help="rebuild every output from a (corrected) transcript JSON, loading no model",
        description="Rebuild the subtitles (SRT, VTT), TSV, RTTM, JSON and review page of a "
        "transcript JSON, e.g. one exported from the review page after correcting text and "
        "naming speakers: the cues are laid out again under the subtitle rules with the "
        "names and corrected text. No model is loaded; it takes seconds. The options are "
        "those recorded in the JSON, then --config and --set (output.*, diarization.names).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_options_epilog(),
    )
    sub.add_argument("json", type=Path, help="a transcript JSON (<clip>.json or corrected)")
    sub.add_argument(
        "-o", "--out", type=Path, help="output folder (default: the JSON's own folder)"
    )
    sub.add_argument(
        "--clip",
        type=Path,
        help="the clip, for the page's player and --burn (default: the file named in the "
        "JSON, beside the JSON)",
    )
    _add_burn(sub)
    sub.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub.set_defaults(handler=_run_render)


def _run_render(args: argparse.Namespace) -> int:
    from pipeline.publish.render import render_file
    from pipeline.stages.subtitles import summarise

    rendered = render_file(args.json, args.out, args.clip, args.config, _overrides(args))
    transcript, out_dir = rendered.transcript, args.out or args.json.parent
    log.info("%s", summarise(transcript.cues, transcript.violations))
    if rendered.config.output.burn:
        rendered.paths.append(_burn(transcript, rendered.clip, out_dir, rendered.config))
    for path in rendered.paths:
        log.info("wrote %s", path)
    return 0


def _add_batch(commands: Any, options: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "batch",
        parents=[options],
        help="transcribe every clip under a folder (resumable; manifest of every file)",
        description="Transcribe every media file under DIR (found by probing, recursively) "
        "into OUT, mirroring DIR's folders. Finished clips are skipped, stages already "
        "computed are read from OUT/.cache, and a file that fails is recorded in "
        "OUT/manifest.csv and .json while the batch goes on. Exit status 1 if any clip failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_options_epilog(),
    )
    sub.add_argument(
        "folder",
        type=Path,
        metavar="DIR",
        help="folder of clips (recursive), or a text file of http(s) links, one a line "
        "(# starts a comment)",
    )
    sub.add_argument(
        "-o", "--out", type=Path, help="output folder (default: DIR-subtitles beside DIR)"
    )
    sub.add_argument(
        "-w",
        "--workers",
        type=int,
        default=1,
        help="worker processes, each with its own models (~1.5 GB) and runtime.threads torch "
        "threads (default: 1; on 2 idle cores 2 workers were 1.5x faster, at twice the memory)",
    )
    sub.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the clips on this Dask scheduler's workers (DIR and OUT on a shared path)",
    )
    sub.add_argument("--no-cache", action="store_true", help="do not read or write the stage cache")
    sub.add_argument(
        "--force", action="store_true", help="redo finished clips (the stage cache still applies)"
    )
    _add_cookies(sub)
    sub.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars: one line per clip"
    )
    sub.set_defaults(handler=_run_batch)


def _run_batch(args: argparse.Namespace) -> int:
    from pipeline.batch.runner import BatchOptions, run_batch

    config = config_from_args(args)
    options = BatchOptions(
        folder=args.folder,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        cache=not args.no_cache,
        force=args.force,
        quiet=args.quiet,
    )
    report = run_batch(options, config)
    print(report.summary(), file=sys.stderr)
    return report.exit_code


def _add_eval(commands: Any, options: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "eval",
        parents=[options],
        help="run a labelled dataset through the pipeline and score it",
        description="Run every media file of DATA through the pipeline and report WER, CER, "
        "DER, wrong-speaker words, hallucinated words, BLEU, chrF and subtitle rule "
        "violations per file and overall, next to the plain whisper CLI. Dataset layouts: "
        "README, section Evaluation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_options_epilog(),
    )
    sub.add_argument("data", type=Path, help="dataset folder")
    sub.add_argument(
        "-o",
        "--out",
        type=Path,
        help="folder for eval.json, eval.md and transcripts (default: out/eval/<DATA name>)",
    )
    sub.add_argument("--limit", type=_positive, metavar="N", help="only the first N files")
    sub.add_argument(
        "--no-baseline", action="store_true", help="skip the plain whisper CLI (about 2x real time)"
    )
    sub.add_argument(
        "--labels",
        type=Path,
        default=LABELS,
        metavar="DIR",
        help="hand judgements of the English, <media file name>.tsv, to score the "
        "per-sentence checks against (default: samples/translation_labels of this project)",
    )
    sub.add_argument("-q", "--quiet", action="store_true", help="only the table and errors")
    sub.set_defaults(handler=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from pipeline.evaluation.datasets import load_dataset
    from pipeline.evaluation.evaluate import evaluate_dataset
    from pipeline.evaluation.report import render_markdown
    from pipeline.models.registry import Models, prepare_process

    overrides = _overrides(args)
    config = load_config(args.config, overrides)
    load_dataset(args.data)  # a bad dataset fails before any model is loaded

    prepare_process(config)
    models = Models(config)
    models.check()
    models.load_all()  # no file's time includes loading a model
    out_dir = args.out or Path("out") / "eval" / args.data.resolve().name
    report = evaluate_dataset(
        args.data, config, models, out_dir, not args.no_baseline, args.limit, overrides, args.labels
    )
    print(render_markdown(report), end="")
    log.info("wrote %s and %s", out_dir / "eval.json", out_dir / "eval.md")
    return 1 if report.overall.failed else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _run_config(args: argparse.Namespace) -> int:
    sys.stdout.write(render_default_yaml())
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    from pipeline.schema import transcript_schema

    sys.stdout.write(json.dumps(transcript_schema(), indent=2, ensure_ascii=False) + "\n")
    return 0


def _options_epilog() -> str:
    lines = ["options for --config FILE or --set KEY=VALUE (defaults in brackets):", ""]
    for key, default, description in describe_options():
        lines.append(f"  {key} [{default}]")
        lines += textwrap.wrap(description, 76, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def _setup_logging(quiet: bool, debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    log.propagate = False
