"""The plugin manager: built-in default plugins plus whatever the `rathaus` entry points announce."""

from __future__ import annotations

import functools

import pluggy

from rathaus import hookspecs

DEFAULT_PLUGINS = ("rathaus.default_plugins",)


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use (never at import time)."""
    import importlib

    manager = pluggy.PluginManager("rathaus")
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    manager.load_setuptools_entrypoints("rathaus")
    return manager
