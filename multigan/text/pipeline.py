"""A trained text generator, as `multigan.load` returns it: continuing a prompt needs no corpus.

    model = multigan.load("runs/text")
    texts = model.generate("The value of", max_new_tokens=20, num_samples=3, seed=0)  # list of str

Samples are always valid UTF-8 (multigan.text.utf8). The CLI's `generate` verb continues prompts
through the same code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from multigan.core.errors import ConfigError, MultiganError
from multigan.core.export import export_folder, load_folder_config, load_generator, read_info
from multigan.core.runtime import resolve_device
from multigan.text.adapter import TextAdapter
from multigan.text.config import TextConfig
from multigan.text.generators import HFGenerator, SamplingConfig, TextGenerator

HF_DIR = "hf"  # a transformers copy of a transformers generator: AutoModelForCausalLM and pipeline() load it


def export_hf(G: HFGenerator, adapter: TextAdapter, out: Path) -> None:
    """A directory that AutoModelForCausalLM / AutoTokenizer / pipeline("text-generation") load."""
    if adapter.tokenizer is None:
        raise ConfigError("an oracle run has no tokenizer to export")
    model = G.model
    for cfg in (model.config, model.generation_config):
        cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id = G.bos_id, G.eos_id, adapter.pad_id
    model.save_pretrained(out)
    adapter.tokenizer.save(out)


def check_generate_options(
    max_new_tokens: int, num_samples: int, min_new_tokens: int, temperature: float, top_k: int, top_p: float
) -> None:
    """One-line errors for bad generation options (the CLI checks them before loading a model)."""
    if max_new_tokens < 1 or num_samples < 1:
        raise MultiganError("--max-new-tokens and --num-samples must be at least 1")
    if not 0 <= min_new_tokens <= max_new_tokens:
        raise MultiganError("--min-new-tokens must be between 0 and --max-new-tokens")
    SamplingConfig(temperature, top_k, top_p)


class TextPipeline:
    modality = "text"

    def __init__(self, adapter: TextAdapter, G: TextGenerator, source: Path | None = None) -> None:
        self.adapter, self.G, self.source = adapter, G.eval(), source
        self.cfg = adapter.cfg

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", checkpoint: str | None = None) -> TextPipeline:
        """A run folder (its newest intact checkpoint's generator, or the one named
        `checkpoint`: `best`, `mle`, `step_XXXXXXXX`) or an exported folder."""
        folder = Path(folder)
        cfg = load_folder_config(folder, TextConfig)
        if cfg.model.pretrained and read_info(folder).get("kind") == "export":
            cfg.model.pretrained = str(folder / HF_DIR)  # the export carries its architecture
        adapter = TextAdapter(cfg, run_dir=folder, load_data=False)
        G = adapter.build_generator()
        load_generator(folder, G, checkpoint)
        return cls(adapter, G.to(resolve_device(device)), folder)

    def prompt_ids(self, prompt: str) -> list[int]:
        if self.adapter.tokenizer is not None:
            return self.adapter.tokenizer.encode(prompt)
        try:
            ids = [int(t) for t in prompt.split()]
        except ValueError:
            raise MultiganError("--prompt: an oracle run takes token ids separated by spaces") from None
        if any(not 0 <= i < self.adapter.vocab_size for i in ids):
            raise MultiganError(f"--prompt: token ids must be in 0..{self.adapter.vocab_size - 1}")
        return ids

    @torch.no_grad()
    def generate(
        self,
        prompt: str = "",
        max_new_tokens: int = 32,
        num_samples: int = 1,
        seed: int = 0,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        min_new_tokens: int = 0,
    ) -> list[str]:
        """`num_samples` texts, each the prompt followed by up to `max_new_tokens` tokens; a sample
        ends early where the model draws its end-of-text token (never before `min_new_tokens`).
        Oracle runs take and give token ids separated by spaces."""
        check_generate_options(max_new_tokens, num_samples, min_new_tokens, temperature, top_k, top_p)
        sampling = SamplingConfig(temperature, top_k, top_p, self.cfg.seqgan.sampler)
        ids = self.prompt_ids(prompt)
        G = self.G
        if isinstance(G, HFGenerator):
            config = G.model.config
            limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", 0)
            if limit and 1 + len(ids) + max_new_tokens > limit:
                raise MultiganError(
                    f"--max-new-tokens: the prompt ({len(ids)} tokens) + BOS + {max_new_tokens} new tokens "
                    f"exceed the model's {limit} positions"
                )
        device = next(G.parameters()).device
        rng = torch.Generator(device).manual_seed(seed)
        prompt_ids = torch.tensor(ids, dtype=torch.long) if ids else None
        new = G.sample(
            num_samples, max_new_tokens, sampling=sampling, rng=rng, prompt=prompt_ids, min_tokens=min_new_tokens
        ).cpu()
        tokenizer = self.adapter.tokenizer
        out = []
        for row in new.tolist():
            if tokenizer is None:
                out.append(" ".join(str(t) for t in ids + row))
                continue
            whole = tokenizer.decode(ids + row)  # decoded together: no token split at the seam
            out.append(whole if whole.startswith(prompt) else prompt + tokenizer.decode(row))
        return out

    def save_pretrained(self, directory: str | Path) -> Path:
        """A self-contained folder (config, weights, tokenizer, model card) that `multigan.load` reads;
        a transformers generator also gets `hf/`, which transformers loads on its own."""
        if self.source is None:
            raise ConfigError("save_pretrained: this generator was not loaded from a folder")
        files = {}
        if self.adapter.tokenizer is not None:
            files["tokenizer"] = self.source / "tokenizer"
        out = export_folder(self.source, directory, self.cfg, self.G, files=files)
        if isinstance(self.G, HFGenerator):
            export_hf(self.G, self.adapter, out / HF_DIR)
        return out
