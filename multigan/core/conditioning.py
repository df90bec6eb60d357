"""Conditioning: what the user says (keywords, a caption, a class) turned into a vector that G and D
read, and the training mechanics around it. Adapters choose what to condition on; the mechanism
lives here.

- Captions: `CaptionVocabulary` is a word-level `tokenizers` tokenizer fitted to the training
  captions. Words found in every caption ("the", "digit", "moves") say nothing about any one
  clip; they are "filler" and dropped, so the full caption "the digit 3 moves up and down" and
  the keywords "3 up and down" encode to the same tokens. Unknown words are an error naming them.
- Encoders: `WordCaptionEncoder` (embedding + GRU over the tokens, order kept, so "7 up down 5
  left right" binds each motion to its digit; with `bag_of_words` the mean of the word
  embeddings is added, a part in which each word means the same beside any other, so a
  combination of words never seen together still reads as its words); `PretrainedCaptionEncoder` (a local transformers
  encoder by path, frozen, mean-pooled, plus a trained projection; offline when the folder is
  there); `LabelEncoder` (a class embedding). Each maps "no condition" to a learned null vector,
  so one model serves with and without a condition.
- Injection: `FiLM` (a zero-initialised scale and shift of G's features: an untrained conditional
  G is the unconditional one). D takes a projection term (Miyato & Koyama 2018):
  `projection(embedding, features)`.
- Training: `drop_condition` (condition dropout) and `mismatched` (each row's condition swapped
  for another row's different one: the matching-aware loss of Reed et al. 2016 and TGANs-C, where
  a real sample with the wrong condition counts as fake).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from multigan.core.errors import ConfigError, MultiganError

PAD, UNK = "[PAD]", "[UNK]"
VOCABULARY_FILE = "vocabulary.json"


# ----------------------------------------------------------------------------------- tokens


@dataclass
class CaptionTokens:
    """A batch of captions as G and D read them. `ids` (b, L) long, `mask` (b, L) bool (True on
    real tokens); `present` (b,) bool: False rows have no condition (no caption, or dropped)."""

    ids: torch.Tensor
    mask: torch.Tensor
    present: torch.Tensor

    def to(self, device: torch.device, non_blocking: bool = False) -> CaptionTokens:
        return CaptionTokens(*(t.to(device, non_blocking=non_blocking) for t in (self.ids, self.mask, self.present)))

    def pin_memory(self) -> CaptionTokens:
        return CaptionTokens(self.ids.pin_memory(), self.mask.pin_memory(), self.present.pin_memory())

    def index(self, rows: torch.Tensor) -> CaptionTokens:
        return CaptionTokens(self.ids[rows], self.mask[rows], self.present[rows])

    def repeat(self, n: int) -> CaptionTokens:
        """Each row n times in a row (b * n rows): the condition of every frame of a clip."""
        return CaptionTokens(*(t.repeat_interleave(n, dim=0) for t in (self.ids, self.mask, self.present)))

    def __len__(self) -> int:
        return self.ids.shape[0]


def _tokens(rows: list[list[int]], present: list[bool]) -> CaptionTokens:
    length = max([len(r) for r in rows] + [1])
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    mask = torch.arange(length)[None] < torch.tensor([len(r) for r in rows])[:, None]
    return CaptionTokens(ids, mask, torch.tensor(present, dtype=torch.bool) & mask.any(1))


# ------------------------------------------------------------------------------- vocabulary


class CaptionVocabulary:
    """A word-level tokenizer (`tokenizers`' WordLevel, lower case, NFKC) fitted to captions."""

    def __init__(self, tokenizer, filler: Iterable[str]) -> None:
        self.tokenizer = tokenizer
        self.filler = frozenset(filler)
        self.vocab: dict[str, int] = tokenizer.get_vocab()  # built once: get_vocab makes a new dict each call

    @classmethod
    def fit(cls, captions: Iterable[str]) -> CaptionVocabulary:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

        captions = list(captions)
        if not captions:
            raise MultiganError("no captions to build a vocabulary from")
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.train_from_iterator(captions, trainers.WordLevelTrainer(special_tokens=[PAD, UNK], min_frequency=1))
        vocabulary = cls(tokenizer, ())
        word_sets = [set(vocabulary.words(c)) for c in captions]
        filler = set.intersection(*word_sets) if len(set(map(frozenset, word_sets))) > 1 else set()
        return cls(tokenizer, filler)

    @property
    def size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def known_words(self) -> list[str]:
        """The words that carry meaning (not filler), in a stable order."""
        return sorted(w for w in self.vocab if w not in (PAD, UNK) and w not in self.filler)

    def words(self, text: str) -> list[str]:
        """Normalised words of `text`, punctuation dropped."""
        pieces = self.tokenizer.pre_tokenizer.pre_tokenize_str(self.tokenizer.normalizer.normalize_str(text))
        return [w for w, _ in pieces if any(ch.isalnum() for ch in w)]

    def unknown(self, text: str) -> list[str]:
        return [w for w in dict.fromkeys(self.words(text)) if w not in self.vocab]

    def check(self, text: str, what: str = "--keywords") -> None:
        """One-line error naming the unknown words of `text` and a few known ones."""
        unknown = self.unknown(text)
        known = self.known_words()
        if unknown:
            few = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise ConfigError(f"{what}: unknown word(s) {', '.join(map(repr, unknown))}; the model knows: {few}")
        if not [w for w in self.words(text) if w not in self.filler]:
            raise ConfigError(
                f"{what}: {text!r} names nothing the model tells apart; it knows: {', '.join(known[:12])}"
            )

    def ids(self, text: str) -> list[int]:
        return [self.vocab.get(w, self.vocab[UNK]) for w in self.words(text) if w not in self.filler]

    def encode(self, captions: Sequence[str | None]) -> CaptionTokens:
        """Captions (None: no caption) -> a padded batch of token ids."""
        rows = [self.ids(c) if c else [] for c in captions]
        return _tokens(rows, [c is not None for c in captions])

    def save(self, path: str | Path) -> None:
        data = {"tokenizer": json.loads(self.tokenizer.to_str()), "filler": sorted(self.filler)}
        Path(path).write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> CaptionVocabulary:
        from tokenizers import Tokenizer

        try:
            data = json.loads(Path(path).read_text())
            return cls(Tokenizer.from_str(json.dumps(data["tokenizer"])), data["filler"])
        except Exception as e:  # OSError, JSON and tokenizers' own errors alike
            raise MultiganError(f"cannot read the caption vocabulary {str(path)!r}: {e}") from None


# --------------------------------------------------------------------------------- encoders


class WordCaptionEncoder(nn.Module):
    """Caption tokens -> (b, dim): word embeddings read in order by a GRU; its last state, through
    a linear layer, plus (`bag_of_words`) the mean of the word embeddings. Rows without a
    condition get the learned `null` vector."""

    def __init__(self, vocab_size: int, dim: int, bag_of_words: bool = False) -> None:
        super().__init__()
        self.bag_of_words = bag_of_words
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, dim)
        self.null = nn.Parameter(torch.zeros(dim))

    def forward(self, tokens: CaptionTokens) -> torch.Tensor:
        lengths = tokens.mask.sum(1)
        vectors = self.null.expand(tokens.ids.shape[0], -1).clone()
        rows = tokens.present.nonzero().squeeze(1)
        if rows.numel():
            packed = pack_padded_sequence(
                self.embed(tokens.ids[rows]), lengths[rows].cpu(), batch_first=True, enforce_sorted=False
            )
            _, last = self.gru(packed)
            vector = self.out(last[0])
            if self.bag_of_words:
                words = tokens.mask[rows].unsqueeze(-1).to(vector.dtype)
                vector = vector + (self.embed(tokens.ids[rows]) * words).sum(1) / words.sum(1).clamp(min=1)
            vectors[rows] = vector.to(vectors.dtype)
        return vectors


def _load_pretrained(path: str, what: str):
    from transformers import AutoModel, AutoTokenizer

    if not Path(path).is_dir():
        raise ConfigError(f"model.text_encoder: {path!r} is not a folder holding a transformers model")
    try:
        loader = AutoTokenizer if what == "tokenizer" else AutoModel
        return loader.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        raise ConfigError(f"model.text_encoder: cannot load the {what} of {path!r}: {str(e).splitlines()[0]}") from None


class PretrainedCaptionTokenizer:
    """The tokenizer of a local transformers model (`model.text_encoder=PATH`): captions -> tokens."""

    def __init__(self, path: str) -> None:
        self.tokenizer = _load_pretrained(path, "tokenizer")

    def encode(self, captions: Sequence[str | None]) -> CaptionTokens:
        batch = self.tokenizer([c or "" for c in captions], padding=True, return_tensors="pt")
        mask = batch["attention_mask"].bool()
        return CaptionTokens(batch["input_ids"], mask, torch.tensor([c is not None for c in captions]) & mask.any(1))


class PretrainedCaptionEncoder(nn.Module):
    """A local transformers encoder (`model.text_encoder=PATH`), frozen and mean-pooled over its
    tokens, then a trained linear projection to `dim`. Reads its folder only (local_files_only);
    the frozen weights stay out of checkpoints and are read from that folder again."""

    def __init__(self, path: str, dim: int) -> None:
        super().__init__()
        backbone = _load_pretrained(path, "model")
        backbone.requires_grad_(False).eval()
        self.backbone = [backbone]  # a list hides it from state_dict() and parameters()
        self.out = nn.Linear(backbone.config.hidden_size, dim)
        self.null = nn.Parameter(torch.zeros(dim))

    def _apply(self, fn, recurse=True):  # .to(device) and friends move the hidden backbone too
        self.backbone[0]._apply(fn)
        return super()._apply(fn, recurse)

    def forward(self, tokens: CaptionTokens) -> torch.Tensor:
        with torch.no_grad():
            hidden = self.backbone[0](input_ids=tokens.ids, attention_mask=tokens.mask.long()).last_hidden_state
        weights = tokens.mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        vectors = self.out(pooled.float())
        return torch.where(tokens.present[:, None], vectors, self.null.expand_as(vectors))


class LabelEncoder(nn.Module):
    """Class labels (b,) long -> (b, dim); label -1 means no condition (the learned null vector)."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes + 1, dim)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.embed(torch.where(labels < 0, self.num_classes, labels))


CaptionEncoder = WordCaptionEncoder | PretrainedCaptionEncoder


def caption_encoder(vocab_size: int, dim: int, text_encoder: str = "", bag_of_words: bool = False) -> CaptionEncoder:
    if text_encoder:
        return PretrainedCaptionEncoder(text_encoder, dim)
    return WordCaptionEncoder(vocab_size, dim, bag_of_words)


# -------------------------------------------------------------------------------- injection


class FiLM(nn.Module):
    """x (b, c, ...) -> x * (1 + scale(cond)) + shift(cond); starts as the identity."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(cond).to(x.dtype).chunk(2, dim=1)
        extra = (1,) * (x.dim() - 2)
        return x * (1 + scale.view(*scale.shape, *extra)) + shift.view(*shift.shape, *extra)


def projection(embedding: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """D's projection term <embedding, features> (b,), added to its unconditional logit."""
    return (embedding.to(features.dtype) * features).sum(1)


# --------------------------------------------------------------------------------- training


def drop_condition(tokens: CaptionTokens, p: float) -> CaptionTokens:
    """Condition dropout: each row loses its condition with probability p (torch's RNG, so a
    resumed run drops the same rows)."""
    if p <= 0:
        return tokens
    keep = torch.rand(len(tokens), device=tokens.present.device) >= p
    return CaptionTokens(tokens.ids, tokens.mask, tokens.present & keep)


def drop_words(tokens: CaptionTokens, p: float) -> CaptionTokens:
    """Word dropout (Iyyer et al. 2015): each word of each caption is left out with probability p,
    the rest kept in order, so each word must carry its own meaning. A caption that loses every
    word has no condition. Torch's RNG, as drop_condition."""
    if p <= 0:
        return tokens
    keep = tokens.mask & (torch.rand(tokens.mask.shape, device=tokens.mask.device) >= p)
    order = torch.argsort((~keep).int(), dim=1, stable=True)  # the kept words first, in order
    ids = torch.gather(tokens.ids * keep, 1, order)
    return CaptionTokens(ids, torch.gather(keep, 1, order), tokens.present & keep.any(1))


def mismatched(tokens: CaptionTokens) -> tuple[CaptionTokens, torch.Tensor]:
    """Each row's condition replaced by the next row's (a roll by one), and a (b,) bool mask of the
    rows where that is a real mismatch: both have a condition and the two differ."""
    rolled = tokens.index(torch.roll(torch.arange(len(tokens), device=tokens.ids.device), -1))
    differs = ((tokens.ids != rolled.ids) & (tokens.mask | rolled.mask)).any(1)
    return rolled, differs & tokens.present & rolled.present
