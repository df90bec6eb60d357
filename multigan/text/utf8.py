"""Keep sampled byte-level BPE text valid UTF-8.

A byte-level tokenizer (GPT-2's, and this toolkit's default) has a token for every byte, so a
sampler can emit bytes that are not UTF-8: a continuation byte with no lead byte, a lead byte
followed by a letter, an EOS in the middle of a character. Decoded, they print as U+FFFD.

`Utf8Constraint` holds, for every state of the UTF-8 decoder (which bytes the current character
still needs) and every token, whether the token's bytes can follow and the state they leave. The
sampler masks the tokens that cannot continue the current character, so every sampled sequence is
valid UTF-8 up to, at most, a character cut short by the length limit, which decoding drops.

The states follow the UTF-8 definition (RFC 3629, table 3-7 of the Unicode standard): overlong
forms, surrogates and code points past U+10FFFF are rejected at the first byte that rules them out.
Tokenizers that fall back to byte tokens written `<0xE5>` (Llama's) are not byte-level here and get
no mask.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from multigan.core.errors import warn

BOUNDARY = 0  # between characters: the only state a text may end in, or an EOS may be drawn
_REJECT = 8
_NUM_STATES = 8


def _transitions() -> np.ndarray:
    """[9, 257] next state for (state, byte); column 256 is "no byte" (padding) and keeps the state."""
    t = np.full((_NUM_STATES + 1, 257), _REJECT, dtype=np.int64)
    cont = range(0x80, 0xC0)
    t[0, 0x00:0x80] = 0
    t[0, 0xC2:0xE0] = 1  # two-byte lead
    t[0, 0xE0] = 4  # E0: the next byte A0..BF (no overlong forms)
    t[0, 0xE1:0xED] = 2
    t[0, 0xED] = 5  # ED: the next byte 80..9F (no surrogates)
    t[0, 0xEE:0xF0] = 2
    t[0, 0xF0] = 6  # F0: the next byte 90..BF (no overlong forms)
    t[0, 0xF1:0xF4] = 3
    t[0, 0xF4] = 7  # F4: the next byte 80..8F (nothing past U+10FFFF)
    for state, after in ((1, 0), (2, 1), (3, 2)):
        t[state, cont] = after
    t[4, 0xA0:0xC0] = 1
    t[5, 0x80:0xA0] = 1
    t[6, 0x90:0xC0] = 2
    t[7, 0x80:0x90] = 2
    t[:, 256] = np.arange(_NUM_STATES + 1)
    return t


def byte_decoder() -> dict[str, int]:
    """The byte-level alphabet's character -> byte: printable Latin-1 bytes stand for themselves,
    the other 68 bytes for the code points 256, 257, ... in byte order (GPT-2's convention)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return table


def _has_byte_level_decoder(node: object) -> bool:
    if isinstance(node, dict):
        return node.get("type") == "ByteLevel" or any(_has_byte_level_decoder(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_byte_level_decoder(v) for v in node)
    return False


def token_bytes(hf_tokenizer) -> list[bytes | None] | None:
    """Each token's bytes (None: a special token, which adds no text), or None when the tokenizer is
    not byte-level (its tokens are whole characters and need no constraint)."""
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None or not _has_byte_level_decoder(json.loads(backend.to_str()).get("decoder")):
        return None
    decoder = byte_decoder()
    added_tokens = hf_tokenizer.added_tokens_decoder
    special = set(hf_tokenizer.all_special_ids) | {i for i, t in added_tokens.items() if t.special}
    added = {i: t.content for i, t in added_tokens.items()}
    out: list[bytes | None] = []
    for i, token in enumerate(hf_tokenizer.convert_ids_to_tokens(list(range(len(hf_tokenizer))))):
        if i in special or token is None:
            out.append(None)
        elif i in added:  # added (non-special) tokens are stored as plain text
            out.append(added[i].encode("utf-8"))
        elif all(ch in decoder for ch in token):
            out.append(bytes(decoder[ch] for ch in token))
        else:
            out.append(token.encode("utf-8"))
    return out


class Utf8Constraint:
    """Which tokens may follow in each UTF-8 decoder state, and the state each leaves. Not part of
    any checkpoint: it is rebuilt from the tokenizer, and its tables follow the logits' device."""

    def __init__(self, pieces: list[bytes | None], vocab_size: int) -> None:
        t = _transitions()
        longest = max((len(p) for p in pieces if p), default=1)
        codes = np.full((vocab_size, longest), 256, dtype=np.int64)  # tokens past the tokenizer: no bytes
        special = np.zeros(vocab_size, dtype=bool)
        special[len(pieces) :] = True
        for i, piece in enumerate(pieces[:vocab_size]):
            if piece is None:
                special[i] = True
            elif piece:
                codes[i, : len(piece)] = np.frombuffer(piece, dtype=np.uint8)
        states = np.broadcast_to(np.arange(_NUM_STATES)[:, None], (_NUM_STATES, vocab_size)).copy()
        for pos in range(longest):
            states = t[states, codes[None, :, pos]]
        allowed = states != _REJECT
        # special tokens (EOS, BOS, padding) carry no bytes: they may only come between characters
        allowed[:, special] = False
        allowed[BOUNDARY, special] = True
        states[:, special] = BOUNDARY
        allowed[:, len(pieces) :] = False  # output rows the tokenizer has no token for
        if not allowed.any(1).all():
            raise ValueError("the tokenizer cannot finish every UTF-8 character (it lacks single-byte tokens)")
        self.vocab_size = vocab_size
        self._tables = {
            torch.device("cpu"): (torch.from_numpy(allowed), torch.from_numpy(np.where(allowed, states, 0)))
        }

    def tables(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(allowed [states, V] bool, next state [states, V] int64) on `device`."""
        if device not in self._tables:
            allowed, next_state = self._tables[torch.device("cpu")]
            self._tables[device] = (allowed.to(device), next_state.to(device))
        return self._tables[device]

    @classmethod
    def for_pieces(cls, pieces: list[bytes | None] | None, vocab_size: int) -> Utf8Constraint | None:
        """The constraint for a byte-level tokenizer's token bytes (`token_bytes`); None for a
        tokenizer whose tokens are characters (pieces None)."""
        if pieces is None:
            return None
        try:
            return cls(pieces, vocab_size)
        except ValueError:
            warn("the tokenizer is byte-level but lacks single-byte tokens: generated text may hold U+FFFD")
            return None

    @staticmethod
    def start(n: int, device: torch.device) -> torch.Tensor:
        """`n` rows between characters."""
        return torch.full((n,), BOUNDARY, dtype=torch.long, device=device)

    def mask(self, logits: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """`logits` [B, V] with the tokens that cannot follow `state` [B] set to -inf."""
        allowed, _ = self.tables(logits.device)
        return logits.masked_fill(~allowed[state], float("-inf"))

    def step(self, state: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The state after `tokens` [B] (which `mask` allowed) from `state` [B]."""
        _, next_state = self.tables(tokens.device)
        return next_state[state, tokens]

    def states(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, L] tokens -> [B, L + 1]: the state before any token, then after each."""
        state = self.start(tokens.shape[0], tokens.device)
        out = [state]
        for t in range(tokens.shape[1]):
            state = self.step(state, tokens[:, t])
            out.append(state)
        return torch.stack(out, 1)
