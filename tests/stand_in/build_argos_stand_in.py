"""Build the Russian→English Argos Translate *test stand-in* package.

The result, ``translate-ru_en-stand_in.argosmodel``, is a real Argos Translate package (a zip
holding ``metadata.json``, a SentencePiece model and a CTranslate2 model) whose model has only
memorised the sentence pairs in :data:`PAIRS`. It lets tests exercise the whole translation path
offline; it is not a translator. See README.md next to this file.

How it is built, all offline and on the CPU:

1. a SentencePiece BPE model is trained on both sides of :data:`PAIRS` (one shared vocabulary,
   as Argos packages use one ``sentencepiece.model`` for source and target);
2. a tiny pre-norm Transformer written here in PyTorch, computing exactly what CTranslate2's
   ``TransformerSpec`` computes, is trained until greedy decoding reproduces every pair with
   every piece at probability > 0.99;
3. the weights are handed to CTranslate2's own converter machinery (a ``Converter`` subclass
   whose ``_load`` fills a ``TransformerSpec``), which validates and writes ``model/``;
4. CTranslate2 must return every pair exactly with beam sizes 1 to 5 (Argos's default is 4).
   Beam search in CTranslate2 stops once ``beam_size`` hypotheses have ended, so wrong side
   hypotheses that end early can crowd out the correct one; those are collected and the
   model is trained further not to end them (an unlikelihood loss), until all pass;
5. the package directory is zipped with sorted entries and fixed timestamps and modes.

The build is deterministic: seeds are fixed, PyTorch runs one thread with deterministic
algorithms, so the same versions of torch, sentencepiece and ctranslate2 on the same kind of
CPU give a byte-identical archive.

Run from the repository root::

    .venv/bin/python tests/stand_in/build_argos_stand_in.py

Needs only packages the project already uses at run time: torch, sentencepiece, ctranslate2.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import ctranslate2
import numpy as np
import sentencepiece as spm
import torch
from ctranslate2.converters import Converter
from ctranslate2.specs import attention_spec, common_spec, transformer_spec
from torch import nn
from torch.nn import functional as F

# Short Russian→English pairs close to the project's domain (meetings, hearings, conferences).
# Targets must not contain "_": Argos's SentencePiece decoder turns underscores into spaces.
PAIRS: tuple[tuple[str, str], ...] = (
    ("Добрый день, коллеги.", "Good afternoon, colleagues."),
    ("Заседание открыто.", "The meeting is open."),
    ("Заседание закрыто.", "The meeting is closed."),
    ("Спасибо.", "Thank you."),
    ("Конференция записывается.", "The conference is being recorded."),
    ("Слово предоставляется докладчику.", "The floor is given to the speaker."),
    ("Есть ли вопросы?", "Are there any questions?"),
    ("Переходим к голосованию.", "Let us proceed to the vote."),
    ("Решение принято единогласно.", "The decision was adopted unanimously."),
    ("Объявляется перерыв.", "We will now take a break."),
    ("Да.", "Yes."),
    ("Нет.", "No."),
)

PACKAGE_NAME = "translate-ru_en-stand_in"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / f"{PACKAGE_NAME}.argosmodel"
PACKAGE_VERSION = "0.1.0"
# Package layout of Argos Translate >= 1.9: sentencepiece.model + model/, no stanza/ folder.
ARGOS_VERSION = "1.9.0"

SEED = 1234
VOCAB_SIZE = 300  # BPE pieces; most words of the pairs become one or two pieces
D_MODEL = 64
NUM_HEADS = 4
FFN_DIM = 128
NUM_LAYERS = 1
# Rows of the sinusoidal position table used in training. The converted model carries no
# table: CTranslate2 computes the same encodings itself, for any length.
TRAINING_POSITIONS = 128
LAYER_NORM_EPS = 1e-6
LEARNING_RATE = 3e-3
MAX_STEPS_PER_ROUND = 2000
MAX_ROUNDS = 10
CHECK_EVERY = 25
# Train until every target piece (end of sentence included) has a probability above
# exp(-0.01) ≈ 0.99, and every known wrong short hypothesis ends with probability below 0.01.
MAX_TOKEN_LOSS = 0.01
MAX_EARLY_END_PROBABILITY = 0.01
# Every pair must come back exactly with each of these beam sizes (Argos's default is 4).
CHECK_BEAM_SIZES = (1, 2, 3, 4, 5)
# Argos Translate decodes with this length penalty (argostranslate.translate).
ARGOS_LENGTH_PENALTY = 0.2

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

PACKAGE_README = """\
# Russian → English test stand-in (not a translator)

Built by tests/stand_in/build_argos_stand_in.py of evidence-subtitles. The model has only
memorised a dozen short sentence pairs; any other input gives meaningless output. It exists so
that tests can run the real Argos Translate loading and translation path offline.
"""


# --------------------------------------------------------------------------------------------
# Tokenizer


def train_sentencepiece(pairs: Sequence[tuple[str, str]]) -> bytes:
    """Train one SentencePiece BPE model on both sides; return the serialised model."""
    sentences = [text for pair in pairs for text in pair]
    model = io.BytesIO()
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return model.getvalue()


# --------------------------------------------------------------------------------------------
# Model: the computation of CTranslate2's pre-norm TransformerSpec, written out in PyTorch


def sinusoidal_table(positions: int, depth: int) -> torch.Tensor:
    """The position encodings CTranslate2 computes when a model has none of its own.

    Sines in the first half of each row, cosines in the second; positions count from 1.
    """
    half = depth // 2
    rates = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / (half - 1))
    angles = torch.arange(1, positions + 1, dtype=torch.float64)[:, None] * rates[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


class Attention(nn.Module):
    """Pre-norm multi-head attention with its residual connection (CTranslate2 layout)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(D_MODEL, eps=LAYER_NORM_EPS)
        self.query = nn.Linear(D_MODEL, D_MODEL)
        self.key = nn.Linear(D_MODEL, D_MODEL)
        self.value = nn.Linear(D_MODEL, D_MODEL)
        self.output = nn.Linear(D_MODEL, D_MODEL)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, time_steps, _ = x.shape
        return x.view(batch, time_steps, NUM_HEADS, D_MODEL // NUM_HEADS).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor | None = None
    ) -> torch.Tensor:
        normed = self.layer_norm(x)
        keys_from = normed if memory is None else memory
        context = F.scaled_dot_product_attention(
            self._heads(self.query(normed)),
            self._heads(self.key(keys_from)),
            self._heads(self.value(keys_from)),
            attn_mask=mask,
        )
        batch, _, time_steps, _ = context.shape
        return x + self.output(context.transpose(1, 2).reshape(batch, time_steps, D_MODEL))


class FeedForward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(D_MODEL, eps=LAYER_NORM_EPS)
        self.linear_0 = nn.Linear(D_MODEL, FFN_DIM)
        self.linear_1 = nn.Linear(FFN_DIM, D_MODEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.linear_1(F.relu(self.linear_0(self.layer_norm(x))))


class EncoderLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.self_attention = Attention()
        self.ffn = FeedForward()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.self_attention(x, mask))


class DecoderLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.self_attention = Attention()
        self.attention = Attention()
        self.ffn = FeedForward()

    def forward(
        self,
        x: torch.Tensor,
        self_mask: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
    ) -> torch.Tensor:
        x = self.self_attention(x, self_mask)
        return self.ffn(self.attention(x, memory_mask, memory))


class TinyTransformer(nn.Module):
    """Encoder-decoder with unscaled embeddings, sinusoidal positions and final layer norms."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.source_embeddings = nn.Embedding(vocab_size, D_MODEL)
        self.target_embeddings = nn.Embedding(vocab_size, D_MODEL)
        self.register_buffer("positions", sinusoidal_table(TRAINING_POSITIONS, D_MODEL))
        self.encoder_layers = nn.ModuleList(EncoderLayer() for _ in range(NUM_LAYERS))
        self.decoder_layers = nn.ModuleList(DecoderLayer() for _ in range(NUM_LAYERS))
        self.encoder_norm = nn.LayerNorm(D_MODEL, eps=LAYER_NORM_EPS)
        self.decoder_norm = nn.LayerNorm(D_MODEL, eps=LAYER_NORM_EPS)
        self.projection = nn.Linear(D_MODEL, vocab_size)

    def encode(self, source: torch.Tensor, source_lengths: torch.Tensor) -> torch.Tensor:
        x = self.source_embeddings(source) + self.positions[: source.shape[1]]
        mask = key_mask(source_lengths, source.shape[1])
        for layer in self.encoder_layers:
            x = layer(x, mask)
        return self.encoder_norm(x)

    def decode(
        self, target_in: torch.Tensor, memory: torch.Tensor, source_lengths: torch.Tensor
    ) -> torch.Tensor:
        steps = target_in.shape[1]
        x = self.target_embeddings(target_in) + self.positions[:steps]
        causal = torch.ones(steps, steps, dtype=torch.bool).tril()
        memory_mask = key_mask(source_lengths, memory.shape[1])
        for layer in self.decoder_layers:
            x = layer(x, causal, memory, memory_mask)
        return self.projection(self.decoder_norm(x))


def key_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """Boolean attention mask (batch, 1, 1, keys): True where the key is a real token."""
    return (torch.arange(max_length)[None, :] < lengths[:, None])[:, None, None, :]


# --------------------------------------------------------------------------------------------
# Training


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([list(row) + [value] * (width - len(row)) for row in rows])


def greedy_decode(
    model: TinyTransformer, source_ids: list[int], bos: int, eos: int, max_steps: int = 64
) -> list[int]:
    source = torch.tensor([source_ids])
    lengths = torch.tensor([len(source_ids)])
    memory = model.encode(source, lengths)
    output = [bos]
    for _ in range(max_steps):
        logits = model.decode(torch.tensor([output]), memory, lengths)
        token = int(logits[0, -1].argmax())
        if token == eos:
            break
        output.append(token)
    return output[1:]


# A wrong hypothesis that ended early: (index of the pair, its pieces as ids).
Negative = tuple[int, tuple[int, ...]]


class Trainer:
    """Teaches the model its pairs, and not to end the wrong short hypotheses it is shown.

    The second part matters for beam search: CTranslate2 stops as soon as ``beam_size``
    hypotheses have ended, so side hypotheses that branch off a pair and end quickly can crowd
    out the full, correct one. Those found by :func:`find_early_endings` become negatives: an
    unlikelihood loss pushes down the probability of ending after them.
    """

    def __init__(
        self, pairs_ids: Sequence[tuple[list[int], list[int]]], vocab_size: int, bos: int, eos: int
    ) -> None:
        torch.manual_seed(SEED)
        self.pairs_ids = pairs_ids
        self.bos = bos
        self.eos = eos
        self.model = TinyTransformer(vocab_size)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.source = pad([src for src, _ in pairs_ids], value=0)
        self.source_lengths = torch.tensor([len(src) for src, _ in pairs_ids])
        self.target_in = pad([[bos, *tgt] for _, tgt in pairs_ids], value=0)
        self.target_out = pad([[*tgt, eos] for _, tgt in pairs_ids], value=-100)  # -100: ignored

    def fit(self, negatives: Sequence[Negative]) -> None:
        model = self.model
        if negatives:
            rows = torch.tensor([pair for pair, _ in negatives])
            negative_in = pad([[self.bos, *pieces] for _, pieces in negatives], value=0)
            last = torch.tensor([len(pieces) for _, pieces in negatives])
        for step in range(1, MAX_STEPS_PER_ROUND + 1):
            model.train()
            memory = model.encode(self.source, self.source_lengths)
            logits = model.decode(self.target_in, memory, self.source_lengths)
            token_losses = F.cross_entropy(
                logits.transpose(1, 2), self.target_out, reduction="none"
            )[self.target_out != -100]
            loss = token_losses.mean()
            early_end = torch.zeros(1)
            if negatives:
                negative_logits = model.decode(negative_in, memory[rows], self.source_lengths[rows])
                log_probs = negative_logits[torch.arange(len(negatives)), last].log_softmax(-1)
                early_end = log_probs[:, self.eos].exp()
                loss = loss - torch.log1p(-early_end.clamp(max=1 - 1e-6)).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if step % CHECK_EVERY:
                continue
            worst = token_losses.max().item()
            worst_end = early_end.max().item()
            exact = self.count_exact()
            print(
                f"  step {step:4d}  worst piece loss {worst:.4f}  "
                f"worst early end {worst_end:.4f}  greedy exact {exact}/{len(self.pairs_ids)}"
            )
            if (
                exact == len(self.pairs_ids)
                and worst < MAX_TOKEN_LOSS
                and worst_end < MAX_EARLY_END_PROBABILITY
            ):
                model.eval()
                return
        raise RuntimeError(f"the stand-in did not learn its pairs in {MAX_STEPS_PER_ROUND} steps")

    def count_exact(self) -> int:
        self.model.eval()
        with torch.no_grad():
            return sum(
                greedy_decode(self.model, src, self.bos, self.eos) == tgt
                for src, tgt in self.pairs_ids
            )


# --------------------------------------------------------------------------------------------
# Conversion to CTranslate2


def as_array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().numpy(), dtype=np.float32)


def set_linear(spec: common_spec.LinearSpec, *layers: nn.Linear) -> None:
    """Set a CTranslate2 linear layer; several PyTorch layers are fused along the outputs."""
    spec.weight = as_array(torch.cat([layer.weight for layer in layers]))
    spec.bias = as_array(torch.cat([layer.bias for layer in layers]))


def set_layer_norm(spec: common_spec.LayerNormSpec, norm: nn.LayerNorm) -> None:
    spec.gamma = as_array(norm.weight)
    spec.beta = as_array(norm.bias)


def set_attention(
    spec: attention_spec.MultiHeadAttentionSpec, attention: Attention, self_attention: bool
) -> None:
    set_layer_norm(spec.layer_norm, attention.layer_norm)
    if self_attention:  # linear[0]: fused query/key/value
        set_linear(spec.linear[0], attention.query, attention.key, attention.value)
    else:  # linear[0]: query; linear[1]: fused key/value over the encoder output
        set_linear(spec.linear[0], attention.query)
        set_linear(spec.linear[1], attention.key, attention.value)
    set_linear(spec.linear[-1], attention.output)


def set_ffn(spec: transformer_spec.FeedForwardSpec, ffn: FeedForward) -> None:
    set_layer_norm(spec.layer_norm, ffn.layer_norm)
    set_linear(spec.linear_0, ffn.linear_0)
    set_linear(spec.linear_1, ffn.linear_1)


class StandInConverter(Converter):
    """Hands the trained PyTorch weights to CTranslate2's converter (validate, optimise, save)."""

    def __init__(self, model: TinyTransformer, vocabulary: list[str]) -> None:
        self.model = model
        self.vocabulary = vocabulary

    def _load(self) -> transformer_spec.TransformerSpec:
        model = self.model
        spec = transformer_spec.TransformerSpec.from_config(
            NUM_LAYERS, NUM_HEADS, pre_norm=True, activation=common_spec.Activation.RELU
        )
        spec.config.layer_norm_epsilon = LAYER_NORM_EPS

        encoder = spec.encoder
        encoder.scale_embeddings = 1.0
        encoder.embeddings[0].weight = as_array(model.source_embeddings.weight)
        set_layer_norm(encoder.layer_norm, model.encoder_norm)
        for layer_spec, layer in zip(encoder.layer, model.encoder_layers, strict=True):
            set_attention(layer_spec.self_attention, layer.self_attention, self_attention=True)
            set_ffn(layer_spec.ffn, layer.ffn)

        decoder = spec.decoder
        decoder.scale_embeddings = 1.0
        decoder.embeddings.weight = as_array(model.target_embeddings.weight)
        set_layer_norm(decoder.layer_norm, model.decoder_norm)
        set_linear(decoder.projection, model.projection)
        for layer_spec, layer in zip(decoder.layer, model.decoder_layers, strict=True):
            set_attention(layer_spec.self_attention, layer.self_attention, self_attention=True)
            set_attention(layer_spec.attention, layer.attention, self_attention=False)
            set_ffn(layer_spec.ffn, layer.ffn)

        spec.register_source_vocabulary(self.vocabulary)
        spec.register_target_vocabulary(self.vocabulary)
        return spec


# --------------------------------------------------------------------------------------------
# Checking and packaging


def load_translator(model_dir: Path) -> ctranslate2.Translator:
    return ctranslate2.Translator(str(model_dir), device="cpu", inter_threads=1, intra_threads=1)


def translate_pairs(
    translator: ctranslate2.Translator,
    tokenizer: spm.SentencePieceProcessor,
    beam_size: int,
    num_hypotheses: int = 1,
) -> list[ctranslate2.TranslationResult]:
    """Translate the sources as Argos's apply_packaged_translation does, minus its splitter."""
    return translator.translate_batch(
        [tokenizer.encode(source, out_type=str) for source, _ in PAIRS],
        beam_size=beam_size,
        num_hypotheses=num_hypotheses,
        length_penalty=ARGOS_LENGTH_PENALTY,
        replace_unknowns=True,
        max_batch_size=32,
        batch_type="tokens",
    )


def wrong_outputs(model_dir: Path, tokenizer: spm.SentencePieceProcessor) -> list[str]:
    """The pairs CTranslate2 gets wrong at each checked beam size, as readable lines."""
    translator = load_translator(model_dir)
    problems = []
    for beam_size in CHECK_BEAM_SIZES:
        results = translate_pairs(translator, tokenizer, beam_size)
        for (source, target), result in zip(PAIRS, results, strict=True):
            output = tokenizer.decode(result.hypotheses[0])
            if output != target:
                problems.append(f"beam {beam_size}: {source!r} -> {output!r}")
    return problems


def find_early_endings(
    model_dir: Path,
    tokenizer: spm.SentencePieceProcessor,
    pairs_ids: Sequence[tuple[list[int], list[int]]],
) -> set[Negative]:
    """Wrong hypotheses that end before their pair's target does, at any checked beam size."""
    translator = load_translator(model_dir)
    found: set[Negative] = set()
    for beam_size in CHECK_BEAM_SIZES:
        results = translate_pairs(translator, tokenizer, beam_size, num_hypotheses=beam_size)
        for index, ((_, target), result) in enumerate(zip(pairs_ids, results, strict=True)):
            for hypothesis in result.hypotheses:
                pieces = tuple(tokenizer.piece_to_id(piece) for piece in hypothesis)
                if len(pieces) < len(target):
                    found.add((index, pieces))
    return found


def train_until_exact(
    trainer: Trainer,
    vocabulary: list[str],
    tokenizer: spm.SentencePieceProcessor,
    scratch: Path,
) -> None:
    """Train, convert and check with CTranslate2; learn from early endings until all pass."""
    negatives: list[Negative] = []
    model_dir = scratch / "candidate"
    for round_number in range(1, MAX_ROUNDS + 1):
        trainer.fit(negatives)
        StandInConverter(trainer.model, vocabulary).convert(str(model_dir), force=True)
        problems = wrong_outputs(model_dir, tokenizer)
        print(f"round {round_number}: {len(problems)} wrong outputs in CTranslate2")
        if not problems:
            return
        for problem in problems:
            print(f"  {problem}")
        new = find_early_endings(model_dir, tokenizer, trainer.pairs_ids) - set(negatives)
        if not new:
            raise RuntimeError("wrong outputs, but no early-ending hypothesis to learn from")
        negatives.extend(sorted(new))
        print(f"  now {len(negatives)} early-ending hypotheses to unlearn")
    raise RuntimeError(f"the stand-in was still wrong after {MAX_ROUNDS} rounds")


def check_model(model_dir: Path, tokenizer: spm.SentencePieceProcessor) -> None:
    problems = wrong_outputs(model_dir, tokenizer)
    if problems:
        raise RuntimeError("wrong outputs: " + "; ".join(problems))
    beams = ", ".join(map(str, CHECK_BEAM_SIZES))
    print(f"CTranslate2: all {len(PAIRS)} pairs exact with beam sizes {beams}")


def metadata() -> dict[str, object]:
    return {
        "name": "Russian → English test stand-in (not a translator)",
        "code": PACKAGE_NAME,
        "type": "translate",
        "package_version": PACKAGE_VERSION,
        "argos_version": ARGOS_VERSION,
        "from_code": "ru",
        "from_name": "Russian",
        "to_code": "en",
        "to_name": "English",
        "links": [],
    }


def write_zip(package_dir: Path, output: Path) -> None:
    """Zip package_dir as <name>/... with sorted entries and fixed timestamps and modes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w") as archive:
        for path in [package_dir, *sorted(package_dir.rglob("*"))]:
            name = path.relative_to(package_dir.parent).as_posix()
            if path.is_dir():
                info = zipfile.ZipInfo(name + "/", date_time=ZIP_TIMESTAMP)
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=9)


def build(output: Path) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    started = time.perf_counter()
    sentencepiece_model = train_sentencepiece(PAIRS)
    tokenizer = spm.SentencePieceProcessor(model_proto=sentencepiece_model)
    vocabulary = [tokenizer.id_to_piece(i) for i in range(tokenizer.get_piece_size())]
    if vocabulary[:3] != ["<unk>", "<s>", "</s>"]:
        raise RuntimeError(f"unexpected special pieces {vocabulary[:3]}")
    print(f"SentencePiece: {len(vocabulary)} pieces")

    pairs_ids = [(tokenizer.encode(src), tokenizer.encode(tgt)) for src, tgt in PAIRS]
    longest = max(len(ids) for pair in pairs_ids for ids in pair)
    print(f"training {len(PAIRS)} pairs (longest {longest} pieces)")
    trainer = Trainer(pairs_ids, len(vocabulary), tokenizer.bos_id(), tokenizer.eos_id())

    with tempfile.TemporaryDirectory(prefix="argos-stand-in-") as scratch:
        train_until_exact(trainer, vocabulary, tokenizer, Path(scratch))
        package_dir = Path(scratch) / PACKAGE_NAME
        package_dir.mkdir()
        StandInConverter(trainer.model, vocabulary).convert(str(package_dir / "model"))
        (package_dir / "sentencepiece.model").write_bytes(sentencepiece_model)
        (package_dir / "metadata.json").write_text(
            json.dumps(metadata(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        (package_dir / "README.md").write_text(PACKAGE_README, encoding="utf-8")
        check_model(package_dir / "model", tokenizer)
        write_zip(package_dir, output)

    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(f"wrote {output} ({output.stat().st_size} bytes, sha256 {digest})")
    print(f"built in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the .argosmodel")
    build(parser.parse_args().output)


if __name__ == "__main__":
    main()
