"""A local web page to try trained runs: `python -m multigan.demo --run RUN [--run RUN2 ...]`.

A thin layer over `multigan.load` (the `demo` extra: `pip install -e ".[demo]"`): page.py builds the
Gradio page, worker.py keeps one process per run, tasks.py is what the buttons run in it.
"""
