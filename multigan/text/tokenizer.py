"""A tokenizer trained on the run's own corpus with Hugging Face `tokenizers`, saved with the run.

Two kinds: byte-level BPE (the default: any UTF-8 text round-trips exactly, Chinese included, no
unknown tokens) and characters (one token per character seen in training; unseen characters become
<unk>). Either is wrapped in a `transformers.PreTrainedTokenizerFast` and saved with
`save_pretrained`, so `AutoTokenizer.from_pretrained(run_dir / "tokenizer")` loads it. Encoding
through the `transformers` tokenizer with special tokens prepends <bos>, which is what the
generator was trained after, so `pipeline("text-generation")` sees prompts as in training.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path

from multigan.core.errors import ConfigError
from multigan.text.utf8 import Utf8Constraint, token_bytes

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]
KINDS = ("bpe", "char")


class TextTokenizer:
    """Thin wrapper over a `PreTrainedTokenizerFast`: ids without special tokens, plus the special ids."""

    def __init__(self, hf) -> None:
        self.hf = hf
        self.pieces = token_bytes(hf)  # each token's bytes for a byte-level tokenizer, else None
        eos = hf.eos_token_id
        if eos is None:
            raise ConfigError("the tokenizer has no EOS token")
        self.eos_id: int = eos
        self.bos_id: int = hf.bos_token_id if hf.bos_token_id is not None else eos
        self.pad_id: int = hf.pad_token_id if hf.pad_token_id is not None else eos

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`, stopping at the first EOS; special tokens are dropped. Byte-level tokens are
        joined as bytes and decoded as UTF-8, leaving out a last character cut short by a length
        limit (sampling keeps every other character whole: multigan.text.utf8)."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            out.append(int(i))
        if self.pieces is None:
            return self.hf.decode(out, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        data = b"".join(self.pieces[i] or b"" for i in out if i < len(self.pieces))
        return codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=False)

    def constraint(self, vocab_size: int) -> Utf8Constraint | None:
        """What keeps a generator's samples valid UTF-8 (None: a character tokenizer needs nothing)."""
        return Utf8Constraint.for_pieces(self.pieces, vocab_size)

    def save(self, directory: Path) -> None:
        self.hf.save_pretrained(str(directory))

    @classmethod
    def load(cls, directory: Path) -> TextTokenizer:
        from transformers import AutoTokenizer

        if not Path(directory).is_dir():
            raise ConfigError(f"no tokenizer at {directory}")
        return cls(AutoTokenizer.from_pretrained(str(directory), local_files_only=True))

    @classmethod
    def train(cls, texts: Iterable[str], *, kind: str = "bpe", vocab_size: int = 2000) -> TextTokenizer:
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
        from transformers import PreTrainedTokenizerFast

        if kind not in KINDS:
            raise ConfigError(f"tokenizer.kind: {kind!r} is not one of {', '.join(KINDS)}")
        if kind == "bpe":
            tok = Tokenizer(models.BPE())
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
            trainer: trainers.Trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                special_tokens=SPECIALS,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                show_progress=False,
            )
        else:
            tok = Tokenizer(models.WordLevel(unk_token=UNK))
            tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
            tok.decoder = decoders.Fuse()
            trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
        tok.train_from_iterator(texts, trainer)
        bos = tok.token_to_id(BOS)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)]
        )
        hf = PreTrainedTokenizerFast(
            tokenizer_object=tok,
            bos_token=BOS,
            eos_token=EOS,
            pad_token=PAD,
            unk_token=UNK,
            clean_up_tokenization_spaces=False,
        )
        return cls(hf)
