"""Media I/O: images (Pillow), video and audio (PyAV). multigan.io.video and multigan.io.audio are the only
modules that import PyAV."""
