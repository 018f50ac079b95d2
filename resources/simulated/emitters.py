"""Import every per-source emitter module in this package so its routes register with the publisher.

A new source adds `resources/simulated/<source>.py` with `@route(...)` handlers; nothing to edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

import resources.simulated as _package

_CORE = {"emitters", "publisher", "server", "world"}

for _info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
    if _info.name not in _CORE and not _info.name.startswith("_"):
        importlib.import_module(f"resources.simulated.{_info.name}")
