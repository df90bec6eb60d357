"""Text data: a UTF-8 file or folder (any language), or the embedded default, as fixed-length token rows.

- `read_corpus(path)`: a file, or every file under a folder (sorted, recursive, hidden files
  skipped). A file that is not valid UTF-8 is skipped with a warning and counted,
  and so is a binary file that happens to decode (it holds NUL bytes).
- `split_examples(text, unit)`: "sentence" joins hard-wrapped lines within a paragraph and splits
  after . ! ? (followed by a space) and after 。！？ (Chinese, Japanese: no space); "line" keeps every
  non-empty line as one example.
- `default_corpus()`: the Python language reference that ships with every Python
  (`pydoc_data.topics`), prose paragraphs only (indented code and heading rules left out), split
  into sentences. No network.
- `encode_rows(...)`: each example -> tokens + EOS, padded with EOS to `seq_len`; an example longer
  than a row continues in the next row (nothing is cut off).
- `heldout_split(...)`: a seeded split of the examples into training and held-out.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from multigan.core.errors import MultiganError, warn_skipped

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@dataclass
class Corpus:
    texts: list[str]
    files: int
    skipped: list[str]


def read_corpus(path: str | Path) -> Corpus:
    path = Path(path).expanduser()
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    else:
        raise MultiganError(f"data.path: {path} is neither a file nor a folder")
    texts, skipped, reasons = [], [], []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as err:
            skipped.append(str(f))
            reasons.append((str(f), "not UTF-8 text" if isinstance(err, UnicodeDecodeError) else str(err)))
            continue
        if "\x00" in text:
            skipped.append(str(f))
            reasons.append((str(f), "a binary file (it holds NUL bytes)"))
            continue
        texts.append(text)
    warn_skipped(reasons)
    if not texts:
        raise MultiganError(f"data.path: no readable UTF-8 text under {path} ({len(skipped)} files skipped)")
    return Corpus(texts, len(files), skipped)


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if out and not (_CJK.match(line[0]) and _CJK.match(out[-1])):
            out += " "
        out += line
    return out


def split_examples(text: str, unit: str = "sentence", *, min_chars: int = 2) -> list[str]:
    if unit == "line":
        return [s for line in text.splitlines() if len(s := line.strip()) >= min_chars]
    if unit != "sentence":
        raise MultiganError(f"data.unit: {unit!r} is not one of sentence, line")
    examples = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if not lines:
            continue
        for sentence in _SENTENCE_END.split(_join_lines(lines)):
            if len(sentence := sentence.strip()) >= min_chars:
                examples.append(sentence)
    return examples


def default_corpus() -> list[str]:
    """Sentences of the Python language reference's prose (`pydoc_data.topics`)."""
    from pydoc_data.topics import topics

    examples = []
    for name in sorted(topics):
        for paragraph in re.split(r"\n\s*\n", topics[name]):
            lines = paragraph.splitlines()
            if not lines or any(line.startswith((" ", "\t")) for line in lines):
                continue  # code, grammar and indented notes
            lines = [line for line in lines if not re.fullmatch(r"[*=\-~^\"']+", line.strip())]
            examples.extend(split_examples("\n".join(lines), "sentence", min_chars=10))
    return examples


def heldout_split(examples: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    if not 0 <= fraction < 1:
        raise MultiganError(f"data.heldout: must be in [0, 1), got {fraction}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_held = round(len(examples) * fraction)
    if fraction > 0 and len(examples) > 1:
        n_held = max(1, n_held)
    held = sorted(order[:n_held])
    train = sorted(order[n_held:])
    return [examples[i] for i in train], [examples[i] for i in held]


def encode_rows(examples: Sequence[str], encode: Callable[[str], list[int]], seq_len: int, eos_id: int) -> torch.Tensor:
    """[N, seq_len] int64 rows: tokens then EOS, padded with EOS; long examples continue in new rows."""
    rows = []
    for text in examples:
        ids = encode(text) + [eos_id]
        for start in range(0, len(ids), seq_len):
            piece = ids[start : start + seq_len]
            rows.append(piece + [eos_id] * (seq_len - len(piece)))
    if not rows:
        raise MultiganError("the text data is empty: no usable examples were found")
    return torch.tensor(rows, dtype=torch.long)
