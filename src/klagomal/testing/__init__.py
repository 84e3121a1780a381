"""Helpers for testing klagomal plugins: a ready instance on a temporary
SQLite database, a fixed clock, and plugins written inline.

For plugin authors (and the plugin packages in ``plugins/``).  With pytest,
the fixtures in :mod:`klagomal.testing.pytest_plugin` are available once the
tests ask for them, in their top ``conftest.py``
(``pytest_plugins = ["klagomal.testing.pytest_plugin"]``)::

    def test_my_dimension(make_klagomal):
        k = make_klagomal(plugins=[my_plugin])
        case = register(k, dimensions=["trygghet"])
        assert case.dimensions == ("trygghet",)

Without pytest::

    from klagomal.testing import instance, register
    with instance(tmp_dir, plugins=[my_plugin]) as k:
        ...

Everything here uses the real thing: a real SQLite file, the real plugin
manager and the real lifecycle; nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import types
from collections.abc import Callable, Iterable
from typing import Any

from klagomal.app import Klagomal
from klagomal.core.clock import FixedClock
from klagomal.core.model import Case, Contact
from klagomal.core.organisation import Organisation
from klagomal.hooks.specs import hookimpl
from klagomal.records.access import SYSTEM_USER, User

__all__ = ["CONTACT", "START", "UNIT", "instance", "plugin", "register"]

#: The day a test clock starts on: Monday 2 March 2026, an ordinary working day.
START = dt.date(2026, 3, 2)

#: A unit of the example organisation (Exempelkommun: soc → soc-aldre → here).
UNIT = "soc-aldre-hemtjanst-norr"

#: A contact, so that a case is not anonymous unless a test asks for that.
CONTACT = Contact(name="Eva Svensson", email="eva@example.se")


def instance(
    directory: str | os.PathLike[str],
    *,
    plugins: Iterable[object] = (),
    today: dt.date | FixedClock = START,
    organisation: Organisation | None = None,
    load_entrypoints: bool = False,
    disabled: Iterable[str] = (),
    db: str | None = None,
    user: User | str | None = None,
) -> Klagomal:
    """A :class:`~klagomal.Klagomal` on a new SQLite file in *directory*,
    with its schema created, a :class:`~klagomal.FixedClock` (``k.clock``)
    and *plugins* registered.

    :param today: the clock's day, or a clock to share between instances.
    :param organisation: default: the example kommun, Exempelkommun.
    :param load_entrypoints: also load installed plugins (entry-point group
        ``klagomal``); off by default, so that a test sees only what it asks
        for.  Turn it on to test that your package's entry point works.
    :param disabled: plugin names to leave out, as ``KLAGOMAL_DISABLE_PLUGINS``
        would; the environment variable itself is ignored here.
    :param db: the URL of a database to open instead of a new file, for
        example ``str(k.storage.engine.url)`` of an earlier instance, to simulate
        the next run with other plugins.
    :param user: who acts (:mod:`klagomal.records.access`); default the reserved
        system owner ``system``, so a plugin's test sees everything.  Use
        ``k.as_user(...)`` to test what a handler or reader may do.

    The caller disposes of it (``with instance(...) as k:``).
    """
    if db is None:
        folder = pathlib.Path(directory)
        n = 1
        while (folder / f"klagomal-{n}.db").exists():
            n += 1
        db = f"sqlite:///{folder / f'klagomal-{n}.db'}"
    clock = today if isinstance(today, FixedClock) else FixedClock(today)
    k = Klagomal(
        db,
        clock=clock,
        organisation=organisation,
        plugins=plugins,
        load_entrypoints=load_entrypoints,
        disabled_plugins=disabled,
        user=user if user is not None else SYSTEM_USER,
    )
    k.init()
    return k


def register(k: Klagomal, **overrides: Any) -> Case:
    """Register a case with sensible defaults (a complaint by telephone about
    :data:`UNIT`, from :data:`CONTACT`); any argument of
    :meth:`Klagomal.register` may be overridden, ``contact=None`` for an
    anonymous case and ``unit=None`` to leave the unit to routing."""
    args: dict[str, Any] = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte som utlovat.",
        "contact": CONTACT,
    }
    args.update(overrides)
    return k.register(**args)


def plugin(name: str = "inline", **hooks: Callable[..., Any]) -> types.SimpleNamespace:
    """A plugin written inline, from functions named after hooks::

        plugin(klagomal_is_serious=lambda intake: "hot" in intake.text or None)

    Each function is marked as a hook implementation; pluggy checks the
    names and arguments when the plugin is registered, so a misspelt hook
    fails at once.  *name* is what logs and ``klagomal plugins`` call it.
    """
    namespace = types.SimpleNamespace(name=name)
    for hook_name, function in hooks.items():
        setattr(namespace, hook_name, hookimpl(function))
    return namespace
