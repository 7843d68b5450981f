"""Keep start-up lean: pydantic's plugin loader without ``importlib.metadata``.

pydantic looks for plugins (entry points) the first time it builds a validator;
that imports ``importlib.metadata`` (with ``email``, ``zipfile``, ``csv``) and reads
every installed package's metadata: about a tenth of a cold ``promoter check``.
promoter uses no pydantic plugins, so the loader is replaced by one that has
none. Any other name asked of it loads pydantic's real module.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_LOADER = "pydantic.plugin._loader"


class _NoPlugins(types.ModuleType):
    def get_plugins(self) -> tuple[()]:
        return ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system probes __path__ and the like
            raise AttributeError(name)

        if sys.modules.get(_LOADER) is self:
            del sys.modules[_LOADER]
        return getattr(importlib.import_module(_LOADER), name)


def skip_pydantic_plugins() -> None:
    """Install the plugin-less loader unless pydantic's own is already loaded."""
    sys.modules.setdefault(_LOADER, _NoPlugins(_LOADER))
