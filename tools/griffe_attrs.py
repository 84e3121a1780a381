"""A Griffe extension for the API reference (mkdocs.yml): the ``__init__`` of
klagomal's attrs classes, which attrs writes at import time and a reader of
the source cannot see.

klagomal's value classes (``Case``, ``Contact``, ``User``, ...) are attrs
classes whose docstrings describe their fields with ``:param name:``.
Without their ``__init__`` the reference would show no signature and could
not match those parameters.  This extension imports each class the reference
documents and, where it is an attrs class, gives it the ``__init__`` attrs
generated, with each parameter's annotation and default as written in the
source.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import attrs
import griffe


def _runtime(cls: griffe.Class) -> Any:
    try:
        return getattr(importlib.import_module(cls.module.path), cls.name)
    except (ImportError, AttributeError):
        return None


def _text(value: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    return value if isinstance(value, str) else repr(value)


class AttrsInit(griffe.Extension):
    """Add the attrs-generated ``__init__`` to each attrs class."""

    def on_class(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        runtime = _runtime(cls)
        if runtime is None or not attrs.has(runtime) or "__init__" in cls.members:
            return
        signature = inspect.signature(runtime.__init__)
        parameters = griffe.Parameters(
            *(
                griffe.Parameter(
                    p.name,
                    annotation=_text(p.annotation),
                    kind=griffe.ParameterKind(p.kind.description),
                    default=None if p.default is inspect.Parameter.empty else _text(p.default),
                )
                for p in signature.parameters.values()
            )
        )
        init = griffe.Function("__init__", parameters=parameters, returns="None", lineno=0, endlineno=0)
        init.labels.add("attrs")
        cls.set_member("__init__", init)
