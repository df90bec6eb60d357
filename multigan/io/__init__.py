"""Media I/O. multigan.io.video is the only module that imports PyAV."""
