import re
from pathlib import Path

import pytest

from pipeline.config import Config, load_config, parse_override, render_default_yaml
from pipeline.errors import PipelineError
from tests import support

DEFAULT_YAML = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"


def test_default_yaml_is_in_step_with_the_code():
    assert DEFAULT_YAML.read_text(encoding="utf-8") == render_default_yaml(), (
        "run `python -m pipeline config > configs/default.yaml`"
    )


def test_default_yaml_reads_back_as_the_defaults():
    assert load_config(DEFAULT_YAML) == Config()


def committed_comments() -> dict[str, str]:
    """section.key -> the comment above it in the committed configs/default.yaml."""
    found, section, comment = {}, None, []
    for line in DEFAULT_YAML.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\w+:$", line):
            section, comment = line[:-1], []
        elif line.startswith("  # "):
            comment.append(line[4:])
        elif match := re.match(r"^  (\w+):", line):
            found[f"{section}.{match.group(1)}"] = " ".join(comment)
            comment = []
    return found


def test_every_option_is_described_in_words_and_in_the_committed_yaml():
    comments = committed_comments()
    for key, option in support.config_options():
        description = " ".join((option.description or "").split())
        assert len(re.findall(r"\w{2,}", description)) >= 3, f"{key}: no real description"
        assert comments.get(key) == description, f"{key}: not described in default.yaml"


def test_overrides_are_read_as_yaml_values(tmp_path):
    config = load_config(
        None,
        dict(
            map(
                parse_override,
                ["asr.beam_size=5", "vad.enabled=false", "asr.glossary=[Солдатов, Старобельск]"],
            )
        ),
    )
    assert config.asr.beam_size == 5
    assert config.vad.enabled is False
    assert config.asr.glossary == ["Солдатов", "Старобельск"]


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("asr:\n  modle: base\n", "unknown option asr.modle"),
        ("colour: red\n", "unknown option colour"),
        ("asr:\n  beam_size: wide\n", "asr.beam_size"),
        ("vad:\n  threshold: 1.5\n", "vad.threshold"),
        ("output:\n  formats: [srt, docx]\n", "output.formats"),
        ("asr: [1, 2\n", "invalid YAML"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_bad_config_is_one_line_naming_the_file_and_option(tmp_path, yaml_text, problem):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml_text)
    with pytest.raises(PipelineError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(PipelineError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("asr:\n  model: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(PipelineError, match="invalid YAML"):
        load_config(path)


def test_the_language_list_is_whisper_s_own():
    from whisper.tokenizer import LANGUAGES

    from pipeline.config import WHISPER_LANGUAGES

    assert set(LANGUAGES) == WHISPER_LANGUAGES


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"asr.language": "xx"}, "not a language code Whisper knows"),
        ({"diarization.max_speakers": 65}, "less than or equal to 64"),
        ({"diarization.min_speakers": 3, "diarization.max_speakers": 2}, "is more than"),
        ({"diarization.num_speakers": 5, "diarization.max_speakers": 4}, "outside"),
        ({"diarization.names": {"SPEAKER_00": "a\tb"}}, "one line"),
        ({"output.min_cue_duration": 8, "output.max_cue_duration": 7}, "is more than"),
        ({"output.close_gap_frames": 1000}, "less than or equal to 120"),
    ],
)
def test_absurd_values_are_refused(overrides, problem):
    with pytest.raises(PipelineError, match=problem):
        load_config(None, overrides)


def test_a_key_given_twice_in_yaml_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("output:\n  max_lines: 2\nasr: {}\noutput:\n  max_lines: 3\n")
    with pytest.raises(PipelineError, match="duplicate key 'output'"):
        load_config(path)
