"""The engine's own modules, wherever they are installed.

In the source tree (and the Lambda archive) the handlers are the top-level package `handlers`
and the components `components`; installed from the wheel they are `sesmailengine.handlers`
and `sesmailengine`. Everything in sesmail imports them through here.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

_INSTALLED_NAMES = {"handlers": "sesmailengine.handlers", "components": "sesmailengine"}


def engine_module(name: str) -> ModuleType:
    """`engine_module("handlers.core.models")`: that module from either layout."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        top, _, rest = name.partition(".")
        if top not in _INSTALLED_NAMES or error.name not in (top, name):
            raise
        return importlib.import_module(".".join(filter(None, (_INSTALLED_NAMES[top], rest))))


def handler_function(path: str) -> Any:
    """A Lambda handler string, e.g. `handlers.email_sender.handler`, as a callable."""
    module, _, function = path.rpartition(".")
    return getattr(engine_module(module), function)
