"""pytest fixtures for plugin authors.  Opt-in: a test suite that wants them
says so in its top-level ``conftest.py``::

    pytest_plugins = ["klagomal.testing.pytest_plugin"]

or on the command line, ``pytest -p klagomal.testing.pytest_plugin``.  There
is no ``pytest11`` entry point: installing klagomal adds no fixtures to the
other test suites of the kommun's environment.

* ``klagomal_clock``: a :class:`~klagomal.FixedClock` at 2026-03-02;
* ``klagomal_plugins``: the plugins every instance of the test gets;
  empty, override it in your ``conftest.py`` to add yours;
* ``klagomal_instance``: a ready :class:`~klagomal.Klagomal` on a temporary
  SQLite file, with ``klagomal_plugins`` and the clock;
* ``make_klagomal``: a factory, ``make_klagomal(plugins=[...], today=...,
  organisation=..., load_entrypoints=...)``, for tests that need another
  set of plugins or a second instance.  Without ``plugins`` it registers
  ``klagomal_plugins`` (with ``load_entrypoints=True``, the installed
  plugins instead of them); ``plugins=[...]`` replaces them (write
  ``plugins=[*klagomal_plugins, other]`` to add one), and ``plugins=[]``
  gives an instance with the built-in parts only.

Every instance is disposed of after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from klagomal.app import Klagomal
from klagomal.core.clock import FixedClock
from klagomal.testing import START, instance


@pytest.fixture
def klagomal_clock() -> FixedClock:
    """A clock standing at 2026-03-02 until the test moves it."""
    return FixedClock(START)


@pytest.fixture
def klagomal_plugins() -> Sequence[object]:
    """The plugins ``klagomal_instance`` registers; override to add yours."""
    return ()


@pytest.fixture
def make_klagomal(
    tmp_path: Path, klagomal_clock: FixedClock, klagomal_plugins: Sequence[object]
) -> Iterator[Callable[..., Klagomal]]:
    """``make_klagomal(**options)`` builds an instance as
    :func:`klagomal.testing.instance` does, on the test's clock unless
    ``today`` is given, with ``klagomal_plugins`` unless ``plugins`` is
    given (or ``load_entrypoints=True``), in the test's temporary directory."""
    made: list[Klagomal] = []

    def make(**options: Any) -> Klagomal:
        options.setdefault("today", klagomal_clock)
        if not options.get("load_entrypoints"):
            # With load_entrypoints=True the installed plugins stand in for them.
            options.setdefault("plugins", klagomal_plugins)
        k = instance(tmp_path, **options)
        made.append(k)
        return k

    yield make
    for k in made:
        k.dispose()


@pytest.fixture
def klagomal_instance(make_klagomal: Callable[..., Klagomal]) -> Klagomal:
    """A ready instance with ``klagomal_plugins``, on a temporary SQLite file."""
    return make_klagomal()
