"""The layout holds: no import cycles, a stage imports no other stage, nothing is set up
on import (each entry point calls `prepare_process`)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "pipeline"
STAGES = sorted(
    path.stem if path.is_file() else path.name
    for path in (PACKAGE / "stages").iterdir()
    if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
)
# What only another stage, the models or the tools need: a stage must not pull it in.
HEAVY = ("whisper", "pyannote.audio", "argostranslate", "ctranslate2", "distributed")


def loaded_after_import(module: str, code: str = "") -> list[str]:
    """sys.modules of a fresh interpreter that imported `module` (then ran `code`)."""
    script = f"import importlib, json, sys\nimportlib.import_module({module!r})\n{code}\n"
    script += "print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_every_stage_is_found():
    assert {"audio", "vad", "diarize", "asr", "attribution", "sentences"} <= set(STAGES)
    assert {"translate", "subtitles", "writers"} <= set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_importing_a_stage_imports_no_other_stage_and_no_tooling(stage):
    own = f"pipeline.stages.{stage}"
    loaded = loaded_after_import(own)
    ours = [name for name in loaded if name.startswith("pipeline.")]
    others = [
        name
        for name in ours
        if name.startswith("pipeline.stages.") and name != own and not name.startswith(own + ".")
    ]
    assert others == [], f"{own} imports {others}"
    tooling = ("pipeline.models", "pipeline.batch", "pipeline.evaluation", "pipeline.run")
    assert [name for name in ours if name.startswith(tooling)] == []
    assert [lib for lib in HEAVY if lib in loaded] == []


def module_imports() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports when it is imported (not in functions,
    not for type checking only)."""
    modules = {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in tree.body:  # top level only: imports inside functions are deferred
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def test_there_are_no_import_cycles():
    graph = module_imports()
    assert "pipeline.stages.subtitles.tracks" in graph and graph["pipeline.run"]
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_importing_the_pipeline_sets_nothing_up_and_prepare_process_does():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NUMBA_NUM_THREADS", "PYANNOTE_METRICS_ENABLED")
    }
    script = (
        "import os, pipeline, pipeline.run, pipeline.cli\n"
        "before = [os.environ.get(k) for k in ('NUMBA_NUM_THREADS', 'PYANNOTE_METRICS_ENABLED')]\n"
        "from pipeline.config import Config\n"
        "from pipeline.models.registry import prepare_process\n"
        "prepare_process(Config())\n"
        "import torch\n"
        "after = [os.environ.get(k) for k in ('NUMBA_NUM_THREADS', 'PYANNOTE_METRICS_ENABLED')]\n"
        "print(before, after, torch.get_num_threads())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=True,
    )
    assert result.stdout.split("\n")[0] == "[None, None] ['1', '0'] 1"
