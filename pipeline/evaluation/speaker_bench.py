"""Speaker count bench: the diarization stage alone on labelled clips.

For each media file with who-speaks-when references (the dataset layout of
`python -m pipeline eval`), and for each `--single-voice` file (one speaker, no
timing): the speakers found against the reference count, DER (no collar, inside
the UEM), the count's margin, how alike the two closest reference voices are to the
speaker embedding (`closest_voices`), and the CPU seconds of the stage. Recognition and
translation do not run, so a shared machine can measure the speaker count.
Files whose name contains a `--tuned` string are the files a rule was chosen
on; the share of right counts is given for them and for the held-out rest.

    python -m pipeline.evaluation.speaker_bench DATA_DIR... [--single-voice FILE...]
        [--tuned tune_ --tuned ru_council] [--set diarization.count=silhouette]
"""

from __future__ import annotations

import argparse
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.cli import _overrides, _pipeline_options, reporting_errors
from pipeline.config import load_config
from pipeline.evaluation.datasets import EvalItem, load_dataset
from pipeline.evaluation.metrics import diarization_errors
from pipeline.models.campplus import voiceprint
from pipeline.models.registry import Models, prepare_process
from pipeline.models.speaker_count import SAME_VOICE_COSINE
from pipeline.run import diarize_audio
from pipeline.stages.audio import load_audio
from pipeline.types import SAMPLE_RATE, SpeakerTurn

DEFAULT_TUNED = ("tune_", "ru_council")
# A reference voice is printed from its stretches of at least this long that no other
# speaker overlaps (shorter ones give CAM++ too little to go on).
VOICE_TURN_SECONDS = 1.0
ALONE_GRID_SECONDS = 0.01


@dataclass
class CountResult:
    name: str
    found: int
    reference: int
    der: float | None  # no reference timing: None
    margin: float | None
    uncertain: bool
    closest_voices: float | None  # cosine of the two most alike reference voices
    cpu_seconds: float
    tuned: bool

    @property
    def right(self) -> bool:
        return self.found == self.reference


def labelled_items(folders: list[Path], single_voice: list[Path]) -> list[EvalItem]:
    """The files with reference turns, then the single-voice files (reference: one speaker)."""
    items = [
        item
        for folder in folders
        for item in load_dataset(folder)
        if item.turns  # the count needs who speaks when
    ]
    return items + [EvalItem(id=path.name, media=path) for path in single_voice]


def measure(item: EvalItem, label: str, models: Models, config, tuned: bool) -> CountResult:
    audio = load_audio(item.media)
    offset = audio.source.audio_offset or 0.0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    result = diarize_audio(audio.samples, offset, config, models)
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - before
    der = closest = None
    if item.turns:
        errors = diarization_errors(item.turns, result.turns, 0.0, item.uem)
        der = errors.rate
        embedding = models.diarization.pipeline.embedding  # CAM++ (the offline pipeline)
        closest = closest_voices(audio.samples, offset, item.turns, embedding)
    count = result.count
    return CountResult(
        name=label,
        found=len(result.speakers),
        reference=len({turn.speaker for turn in item.turns}) if item.turns else 1,
        der=der,
        margin=count.margin if count else None,
        uncertain=bool(count and count.uncertain),
        closest_voices=closest,
        cpu_seconds=cpu,
        tuned=tuned,
    )


def closest_voices(samples, offset: float, turns: list[SpeakerTurn], model) -> float | None:
    """Cosine similarity of the two most alike reference speakers' voiceprints (the mean
    CAM++ embedding of each one's stretches of `VOICE_TURN_SECONDS` or more that no other
    speaker overlaps); None with fewer than two such speakers. At or above the count's
    `SAME_VOICE_COSINE`, the embeddings hold the two as one voice."""
    prints = {}
    for speaker in sorted({turn.speaker for turn in turns}):
        embeddings = [
            voiceprint(model, samples[_sample(start - offset) : _sample(end - offset)])
            for start, end in _alone(turns, speaker)
        ]
        if embeddings:
            mean = np.mean(embeddings, axis=0)
            prints[speaker] = mean / np.linalg.norm(mean)
    if len(prints) < 2:
        return None
    matrix = np.array(list(prints.values()))
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -1.0)
    return float(similarity.max())


def _alone(turns: list[SpeakerTurn], speaker: str) -> list[tuple[float, float]]:
    """(start, end) of the stretches of `VOICE_TURN_SECONDS` or more where `speaker`
    talks and no one else does."""
    grid = np.arange(0.0, max(turn.end for turn in turns), ALONE_GRID_SECONDS)
    mine, others = np.zeros(len(grid), bool), np.zeros(len(grid), bool)
    for turn in turns:
        talking = mine if turn.speaker == speaker else others
        talking |= (grid >= turn.start) & (grid < turn.end)
    edges = np.diff(np.concatenate([[0], (mine & ~others).astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [
        (grid[start], grid[end - 1] + ALONE_GRID_SECONDS)
        for start, end in zip(starts, ends, strict=True)
        if (end - start) * ALONE_GRID_SECONDS >= VOICE_TURN_SECONDS
    ]


def _sample(seconds: float) -> int:
    return max(0, round(seconds * SAMPLE_RATE))


def table(results: list[CountResult]) -> str:
    lines = [
        "| file | speakers | DER | margin | closest voices | CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        der = "–" if result.der is None else f"{100 * result.der:.1f} %"
        margin = "–" if result.margin is None else f"{result.margin:.2f}"
        if result.uncertain:
            margin += " (uncertain)"
        closest = "–" if result.closest_voices is None else f"{result.closest_voices:.2f}"
        name = result.name + (" (tuning)" if result.tuned else "")
        lines.append(
            f"| {name} | {result.found}/{result.reference} | {der} | {margin} | {closest} "
            f"| {result.cpu_seconds:.1f} |"
        )
    return "\n".join(lines) + "\n\n" + summary(results)


def summary(results: list[CountResult]) -> str:
    parts = []
    for title, group in (
        ("held out", [r for r in results if not r.tuned]),
        ("tuning", [r for r in results if r.tuned]),
    ):
        right = sum(result.right for result in group)
        share = f" ({100 * right / len(group):.0f} %)" if group else ""
        parts.append(f"{title}: right count on {right} of {len(group)}{share}")
    one_voice = [r.name for r in results if (r.closest_voices or 0) >= SAME_VOICE_COSINE]
    if one_voice:
        parts.append(
            f"two reference voices as alike as one (cosine >= {SAME_VOICE_COSINE}) in "
            + ", ".join(one_voice)
        )
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], parents=[_pipeline_options()]
    )
    parser.add_argument("data", type=Path, nargs="*", help="dataset folders (eval layout)")
    parser.add_argument(
        "--single-voice", type=Path, nargs="*", default=[], help="media with one speaker"
    )
    parser.add_argument(
        "--tuned",
        action="append",
        help=f"a file whose dataset/name contains this was tuned on (default: {DEFAULT_TUNED})",
    )
    args = parser.parse_args(argv)
    tuned = tuple(args.tuned or DEFAULT_TUNED)

    def bench() -> int:
        config = load_config(args.config, _overrides(args))
        prepare_process(config)
        models = Models(config)
        results = []
        for item in labelled_items(args.data, args.single_voice):
            label = f"{item.media.parent.name}/{item.id}"
            result = measure(item, label, models, config, any(t in label for t in tuned))
            results.append(result)
            print(f"{label}: {result.found}/{result.reference}", file=sys.stderr, flush=True)
        print(table(results))
        return 0

    return reporting_errors(bench, args)


if __name__ == "__main__":
    sys.exit(main())
