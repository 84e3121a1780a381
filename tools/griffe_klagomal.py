"""Griffe extensions for the API reference (mkdocs.yml).

``AttrsInit``: the ``__init__`` of klagomal's attrs classes, which attrs
writes at import time and a reader of the source cannot see.  klagomal's
value classes (``Case``, ``Contact``, ``User``, ...) are attrs classes whose
docstrings describe their fields with ``:param name:``; without their
``__init__`` the reference would show no signature and could not match those
parameters.  The extension imports each class the reference documents and,
where it is an attrs class, gives it the ``__init__`` attrs generated, with
each parameter's annotation and default as written in the source.

``SphinxRoles``: the docstrings are written for Sphinx and cross-reference
with roles (``:class:`~klagomal.Case```, ``:meth:`outbox```), which Markdown
does not know; they are shown as code, by the name a reader would see in
Sphinx.  A line ending in ``::`` (a literal block follows) ends in ``:``.
"""

from __future__ import annotations

import importlib
import inspect
import re
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


_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`([^`]+)`")


def _role_text(match: re.Match[str]) -> str:
    target = match.group(1)
    if titled := re.fullmatch(r"(.+?)\s*<[^>]+>", target):  # `title <target>`
        return f"`{titled.group(1)}`"
    if target.startswith("~"):  # only the last component
        return f"`{target[1:].rsplit('.', 1)[-1]}`"
    return f"`{target}`"


class SphinxRoles(griffe.Extension):
    """Show Sphinx's cross-reference roles as code in Markdown."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        text = _ROLE.sub(_role_text, obj.docstring.value)
        obj.docstring.value = re.sub(r"(?<=\S)::$", ":", text, flags=re.MULTILINE)
