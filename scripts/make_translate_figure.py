"""The picture in docs/TRANSLATE.md and the README: source | translation | reference | reference-guided | blend strip.

    python scripts/make_translate_figure.py --run runs/translate --reference-run runs/translate_reference \
        --out assets/translate.png

Rows are held-out digits (writers no run trained on), one per digit in `--digits`. The translation
and the blend strip come from `--run` (a two-sided run: unpaired or paired), the reference-guided
column from `--reference-run` (mode=reference), each reference being a held-out digits-M image of
another digit. Every column is made through the Python API, as a user would:
multigan.load(...).translate(...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torchvision.utils import save_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import multigan  # noqa: E402
from multigan.translate.data import digits_m  # noqa: E402

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="a two-sided translate run (unpaired or paired)")
    p.add_argument("--reference-run", required=True, help="a mode=reference run")
    p.add_argument("--digits", type=int, nargs="+", default=[2, 3, 4, 6, 7, 9], help="one row per digit")
    p.add_argument("--scale", type=int, default=3, help="nearest-neighbour upscaling of the picture")
    p.add_argument("--out", default=str(ROOT / "assets" / "translate.png"))
    args = p.parse_args(argv)
    model, styled = multigan.load(args.run), multigan.load(args.reference_run)
    data = digits_m(model.cfg.data.size)
    assert data.labels_test is not None
    labels = data.labels_test.tolist()
    # the first held-out digit of each kind; each reference is the next digit's second held-out example
    pick = torch.tensor([labels.index(d) for d in args.digits])
    others = torch.tensor([[i for i, y in enumerate(labels) if y == (d + 1) % 10][1] for d in args.digits])
    source = data.test_a[pick]
    references = data.test_b[others]
    columns = [
        source,
        model.translate(source),
        references,
        styled.translate(source, style=references),
        *model.translate(source, blend=ALPHAS).unbind(1),
    ]
    grid = torch.stack(columns, dim=1).flatten(0, 1).float().div(255)  # row-major: one row per digit
    grid = torch.nn.functional.interpolate(grid, scale_factor=args.scale, mode="nearest")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, args.out, nrow=len(columns), padding=2, pad_value=1.0)
    print(f"wrote {args.out}: columns source | translation | reference | reference-guided | blend {ALPHAS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
