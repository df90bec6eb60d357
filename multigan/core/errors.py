"""Errors a user can act on. The command line prints them as one line, without a traceback."""


class MultiganError(Exception):
    """Base class for errors caused by input (config, data, files, arguments)."""


class ConfigError(MultiganError):
    """An unknown key, a wrong type or a bad value in a config or an override."""
