"""What the benchmarks print about the machine they ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

HEADER = (
    "# Benchmarks\n\n"
    "Figures measured by the scripts in `scripts/` (one section per modality; each script replaces only\n"
    "its own section). Each section gives the exact command, the machine and the versions; compare\n"
    "figures only within one section, where they come from one run on one machine.\n"
)


def cpu_model() -> str:
    """The CPU's model name (for benchmark reports)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or n/a where the OS has none."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def machine_lines() -> list[str]:
    """The machine block of a benchmark entry: CPU, cores, torch threads, GPU, load, versions."""
    import torch

    import multigan

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; GPU: {gpu}",
        f"- load average at the start (1, 5, 15 min): {load_average()}",
        f"- Python {platform.python_version()}, torch {torch.__version__}, multigan {multigan.__version__}",
    ]


def append_to_section(path: Path, section: str, entry: str) -> None:
    """Add `entry` at the end of `section` (e.g. "## Video") of docs/BENCHMARKS.md, creating the
    section (at the end) if needed; other sections are left as they are. The file is read right
    before it is replaced."""
    text = path.read_text() if path.is_file() else HEADER
    lines = text.rstrip("\n").split("\n")
    if section not in lines:
        lines += ["", section]
        end = len(lines)
    else:
        start = lines.index(section)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        while end > start + 1 and lines[end - 1] == "":
            end -= 1
    lines[end:end] = ["", *entry.rstrip("\n").split("\n"), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text("\n".join(lines).rstrip("\n") + "\n")
    os.replace(tmp, path)


def one_update_step(adapter, batch):
    """A function running one D and one G update (the adapter's own losses, Adam with torch's defaults) on
    one fixed batch: what the step-cost benchmarks time, data loading excluded."""
    import torch

    nets = adapter.build_models()
    G, D = nets.G, nets.D
    opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())

    def step() -> None:
        out = adapter.discriminator_loss(G, D, batch, regularize=False)
        opt_d.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        out = adapter.generator_loss(G, D, batch)
        opt_g.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_g.step()
        D.requires_grad_(True)

    return step
