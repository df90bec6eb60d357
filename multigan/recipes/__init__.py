"""Runnable recipes: `python -m multigan.recipes.<image|text|video>`."""
