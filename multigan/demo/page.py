"""The Gradio page: a header naming each run, and one tab per run with the controls its modality has.

Every button sends its values to the run's process (multigan.demo.worker), which calls the
pipeline; a bad upload or a bad value comes back as the CLI's one-line `error: ...` message, shown
in the tab, and the page keeps serving. Requests to one run are queued and run one at a time.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from multigan.core.checkpoint import MANIFEST, latest_checkpoint, named_checkpoint
from multigan.core.export import EVALUATION_FILE
from multigan.demo.worker import ModelWorker, RequestError

MAX_FRAMES, MAX_VIDEO_SAMPLES = 60, 4
MAX_IMAGES, MAX_TEXT_SAMPLES, MAX_NEW_TOKENS, MAX_SOUNDS = 64, 8, 256, 8
# bookkeeping and secondary figures of the modalities' evaluation.json files, left out of the header
SKIPPED_KEYS = {"protocol", "per_step", "copy_last", "blank", "temperature_curves", "versions", "unit", "seed"}
SKIPPED_KEYS |= {"context", "predict", "clips", "samples", "frame_mse", "mae", "KID_std", "beats_copy_last"}


def headline(evaluation: dict[str, Any], limit: int = 6) -> list[str]:
    """The first few figures of an evaluation.json, e.g. ["mse 0.0418", "psnr 14.7", ...]."""
    figures: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if len(figures) >= limit:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in SKIPPED_KEYS and not key.startswith("n_"):
                    walk(value, [*path, key])
        elif isinstance(node, int | float) and not isinstance(node, bool) and path:
            names = [p for p in path if p not in ("mean", "value", "model", "scores")]
            if names:
                figures.append(f"{names[-1]} {node:.4g}")

    walk(evaluation, [])
    return figures


def describe_run(run: str, modality: str, checkpoint: str | None) -> str:
    """One header line: the run, its modality, the step it was loaded at and its evaluation figures."""
    folder = Path(run)
    root = folder / "checkpoints"
    path = named_checkpoint(root, checkpoint) if checkpoint else latest_checkpoint(root)
    if path is not None and (path / MANIFEST).is_file():
        step = f"step {json.loads((path / MANIFEST).read_text())['step']}" + (f" ({checkpoint})" if checkpoint else "")
    else:
        step = "an exported model"
    line = f"**{modality}** `{folder.name}`: {step}"
    file = folder / EVALUATION_FILE
    if file.is_file():
        try:
            figures = headline(json.loads(file.read_text()))
        except ValueError:
            figures = ["(evaluation.json is unreadable)"]
        line += "; evaluation: " + ", ".join(figures)
    else:
        line += "; not evaluated yet"
    return line


class Page:
    """The page over a set of runs; `build()` returns the Gradio Blocks."""

    def __init__(self, runs: dict[str, ModelWorker], headers: list[str], out_root: Path) -> None:
        self.runs, self.headers, self.out_root = runs, headers, out_root
        self.upload_root = Path(gr.utils.get_upload_folder()).resolve()

    # -- requests

    def uploaded(self, file: Any) -> tuple[str, str]:
        """(server path, the visitor's file name) of an upload; never a path a visitor typed."""
        path = Path(file if isinstance(file, str) else file.name).resolve()
        if not path.is_relative_to(self.upload_root) or not path.is_file():
            raise RequestError("only files uploaded through the page are read")
        return str(path), path.name

    def request(self, key: str, task: str, names: dict[str, str], **kwargs: Any) -> tuple[dict[str, Any], str]:
        """(result, message) of one task; an error becomes the message, with upload paths named as
        the visitor named them."""
        out = Path(tempfile.mkdtemp(dir=self.out_root))
        try:
            return self.runs[key].call(task, out=out, **kwargs), ""
        except RequestError as err:
            message = str(err)
            for path, name in names.items():
                message = message.replace(path, name)
            return {}, f"error: {message}"

    def _files(self, files: list[Any] | None) -> tuple[list[str], dict[str, str]]:
        pairs = [self.uploaded(f) for f in files or []]
        return [p for p, _ in pairs], dict(pairs)

    # -- tabs

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="multigan demo") as page:
            gr.Markdown("# multigan\n\n" + "\n\n".join(self.headers), elem_id="header")
            for i, (key, worker) in enumerate(self.runs.items()):
                modality, can = worker.info.modality, worker.info.abilities
                with gr.Tab(f"{modality}: {Path(key).name}", id=f"tab-{i}"):
                    TABS[modality](self, key, f"run{i}", can)
        return page

    def video_tab(self, key: str, tag: str, can: dict[str, Any]) -> None:
        k = can["context"]
        gr.Markdown(f"Upload {k} or more seed frames (images, in order) or a video (its last {k} frames are used).")
        with gr.Row():
            with gr.Column():
                files = gr.File(label="seed frames or a video", file_count="multiple", elem_id=f"{tag}-files")
                heldout = gr.Dropdown(
                    ["(none)", *can["heldout"]],
                    value="(none)",
                    label="or a clip of the run's data",
                    visible=bool(can["heldout"]),
                    elem_id=f"{tag}-heldout",
                )
                keywords = gr.Textbox(
                    label='keywords, e.g. "the digit 3 moves up and down"',
                    visible=can["keywords"],
                    elem_id=f"{tag}-keywords",
                )
                frames = gr.Slider(1, MAX_FRAMES, value=10, step=1, label="frames to generate", elem_id=f"{tag}-frames")
                samples = gr.Slider(1, MAX_VIDEO_SAMPLES, value=1, step=1, label="samples (side by side)")
                seed = gr.Number(0, precision=0, label="seed")
                button = gr.Button("Generate", variant="primary", elem_id=f"{tag}-generate")
            with gr.Column():
                clip = gr.Video(
                    label="seed frames, then generated", elem_id=f"{tag}-clip", loop=True, autoplay=True, height=360
                )
                message = gr.Markdown(elem_id=f"{tag}-message")

        def run(files_in: list[Any] | None, picked: str, words: str, n: float, s: float, sd: float):
            try:
                paths, names = self._files(files_in)
            except RequestError as err:
                return None, f"error: {err}"
            common = dict(keywords=words or None, num_frames=int(n), samples=int(s), seed=int(sd or 0))
            if picked and picked != "(none)" and not paths:
                result, msg = self.request(key, "video_heldout", {}, index=can["heldout"].index(picked), **common)
                if result:
                    msg = "truth | generated" + (" samples" if int(s) > 1 else "") + f": {result['frames']} frames"
            else:
                result, msg = self.request(key, "video_continue", names, files=paths, **common)
                if result:
                    msg = f"{result['frames']} frames"
            return result.get("video"), msg

        button.click(
            run,
            [files, heldout, keywords, frames, samples, seed],
            [clip, message],
            api_name=f"{tag}_generate",
            concurrency_id=key,
            concurrency_limit=1,
        )

    def image_tab(self, key: str, tag: str, can: dict[str, Any]) -> None:
        classes = can["classes"]
        label = gr.Dropdown(
            ["every class in turn", *map(str, range(classes))],
            value="every class in turn",
            label="class",
            visible=classes > 0,
        )
        with gr.Row():
            with gr.Column():
                count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label="images")
                seed = gr.Number(0, precision=0, label="seed")
                grid_button = gr.Button("Generate a grid", variant="primary", elem_id=f"{tag}-generate")
            grid = gr.Image(label="samples", type="filepath", elem_id=f"{tag}-grid")
        with gr.Row():
            with gr.Column():
                seed_a = gr.Number(0, precision=0, label="seed a")
                seed_b = gr.Number(1, precision=0, label="seed b")
                t = gr.Slider(0, 1, value=0.5, step=0.05, label="from a to b (release to draw)", elem_id=f"{tag}-t")
                between_button = gr.Button("Interpolate", elem_id=f"{tag}-interpolate")
            between = gr.Image(label="a | between | b", type="filepath", elem_id=f"{tag}-between")
        message = gr.Markdown(elem_id=f"{tag}-message")

        def chosen(value: str) -> int | None:
            return None if value == "every class in turn" else int(value)

        def make_grid(value: str, n: float, sd: float):
            result, msg = self.request(key, "image_grid", {}, label=chosen(value), count=int(n), seed=int(sd or 0))
            return result.get("image"), msg

        def make_between(value: str, a: float, b: float, tt: float):
            result, msg = self.request(
                key, "image_between", {}, label=chosen(value), seed_a=int(a or 0), seed_b=int(b or 0), t=float(tt)
            )
            return result.get("image"), msg

        grid_button.click(
            make_grid,
            [label, count, seed],
            [grid, message],
            api_name=f"{tag}_generate",
            concurrency_id=key,
            concurrency_limit=1,
        )
        between_inputs = [label, seed_a, seed_b, t]
        between_button.click(
            make_between,
            between_inputs,
            [between, message],
            api_name=f"{tag}_between",
            concurrency_id=key,
            concurrency_limit=1,
        )
        t.release(
            make_between,
            between_inputs,
            [between, message],
            api_visibility="private",
            concurrency_id=key,
            concurrency_limit=1,
        )

    def text_tab(self, key: str, tag: str, can: dict[str, Any]) -> None:
        hint = "token ids separated by spaces (an oracle run)" if can["oracle"] else "text to continue"
        with gr.Row():
            with gr.Column():
                prompt = gr.Textbox(label=f"prompt: {hint}", lines=3, elem_id=f"{tag}-prompt")
                tokens = gr.Slider(1, MAX_NEW_TOKENS, value=48, step=1, label="max new tokens", elem_id=f"{tag}-tokens")
                temperature = gr.Slider(0.05, 2.0, value=1.0, step=0.05, label="temperature")
                top_k = gr.Slider(0, 200, value=0, step=1, label="top-k (0: off)")
                top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p (1: off)")
                samples = gr.Slider(1, MAX_TEXT_SAMPLES, value=2, step=1, label="samples")
                seed = gr.Number(0, precision=0, label="seed")
                button = gr.Button("Continue", variant="primary", elem_id=f"{tag}-generate")
            with gr.Column():
                texts = gr.Textbox(label="continuations", lines=14, elem_id=f"{tag}-texts")
                message = gr.Markdown(elem_id=f"{tag}-message")

        def run(text: str, n: float, temp: float, k: float, p: float, s: float, sd: float):
            result, msg = self.request(
                key,
                "text_generate",
                {},
                prompt=text or "",
                max_new_tokens=int(n),
                temperature=float(temp),
                top_k=int(k),
                top_p=float(p),
                samples=int(s),
                seed=int(sd or 0),
            )
            return "\n\n----\n\n".join(result.get("texts", [])), msg

        button.click(
            run,
            [prompt, tokens, temperature, top_k, top_p, samples, seed],
            [texts, message],
            api_name=f"{tag}_generate",
            concurrency_id=key,
            concurrency_limit=1,
        )

    def translate_tab(self, key: str, tag: str, can: dict[str, Any]) -> None:
        with gr.Row():
            with gr.Column():
                source = gr.File(label="an image to translate", elem_id=f"{tag}-source")
                style = gr.File(label="a style reference", visible=can["reference"], elem_id=f"{tag}-style")
                direction = gr.Radio(can["directions"], value=can["directions"][0], label="direction")
                blend = gr.Slider(
                    0, 1, value=1, step=0.05, label="blend: reconstruction (0) to translation (1)", visible=can["blend"]
                )
                button = gr.Button("Translate", variant="primary", elem_id=f"{tag}-generate")
            with gr.Column():
                result_image = gr.Image(label="source | translation", type="filepath", elem_id=f"{tag}-result")
                message = gr.Markdown(elem_id=f"{tag}-message")

        def run(src: Any, ref: Any, way: str, alpha: float):
            if src is None:
                return None, "error: upload an image to translate"
            if can["reference"] and ref is None:
                return None, "error: this run is reference-guided: upload a style reference too"
            try:
                (path, name), names = self.uploaded(src), {}
                names[path] = name
                ref_path = None
                if ref is not None:
                    ref_path, ref_name = self.uploaded(ref)
                    names[ref_path] = ref_name
            except RequestError as err:
                return None, f"error: {err}"
            result, msg = self.request(
                key, "translate_image", names, file=path, style=ref_path, blend=float(alpha), direction=way
            )
            return result.get("image"), msg

        button.click(
            run,
            [source, style, direction, blend],
            [result_image, message],
            api_name=f"{tag}_generate",
            concurrency_id=key,
            concurrency_limit=1,
        )

    def audio_tab(self, key: str, tag: str, can: dict[str, Any]) -> None:
        labels = can["labels"]
        with gr.Row():
            with gr.Column():
                label = gr.Dropdown(
                    ["every label in turn", *labels],
                    value="every label in turn",
                    label="label",
                    visible=bool(labels),
                    elem_id=f"{tag}-label",
                )
                count = gr.Slider(1, MAX_SOUNDS, value=4, step=1, label="sounds")
                seed = gr.Number(0, precision=0, label="seed")
                button = gr.Button("Generate", variant="primary", elem_id=f"{tag}-generate")
            with gr.Column():
                picture = gr.Image(label="spectrograms", type="filepath", elem_id=f"{tag}-spectrograms")
                message = gr.Markdown(elem_id=f"{tag}-message")
        players = [gr.Audio(label=f"sound {i + 1}", visible=i < 4, type="filepath") for i in range(MAX_SOUNDS)]

        def run(value: str, n: float, sd: float):
            chosen = None if value == "every label in turn" else value
            result, msg = self.request(key, "audio_generate", {}, label=chosen, count=int(n), seed=int(sd or 0))
            sounds = result.get("sounds", [])
            updates = [gr.update(value=s, visible=True) for s in sounds]
            updates += [gr.update(value=None, visible=False) for _ in range(MAX_SOUNDS - len(sounds))]
            return result.get("image"), msg, *updates

        button.click(
            run,
            [label, count, seed],
            [picture, message, *players],
            api_name=f"{tag}_generate",
            concurrency_id=key,
            concurrency_limit=1,
        )


TABS: dict[str, Callable[[Page, str, str, dict[str, Any]], None]] = {
    "video": Page.video_tab,
    "image": Page.image_tab,
    "text": Page.text_tab,
    "translate": Page.translate_tab,
    "audio": Page.audio_tab,
}
