"""Shared fixtures: a fixed clock and a Klagomal on a fresh SQLite file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from klagomal import Case, Contact, FixedClock, Klagomal

#: The day every test starts on: Monday 2 March 2026, an ordinary working day.
START = dt.date(2026, 3, 2)

#: A unit deep in the example organisation (soc → soc-aldre → here).
UNIT = "soc-aldre-hemtjanst-norr"

#: A contact, so that a case is not anonymous unless a test asks for that.
EVA = Contact(name="Eva Svensson", email="eva@example.se")


def register_case(k: Klagomal, **overrides: Any) -> Case:
    """Register a case with sensible defaults; any argument of
    :meth:`Klagomal.register` may be overridden (``contact=None`` for anonymous)."""
    args: dict[str, Any] = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte som utlovat.",
        "contact": EVA,
    }
    args.update(overrides)
    return k.register(**args)


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-03-02 until a test moves it."""
    return FixedClock(START)


@pytest.fixture
def db_url(tmp_path: Any) -> str:
    """The URL of a SQLite file in the test's own directory."""
    return f"sqlite:///{tmp_path / 'klagomal.db'}"


@pytest.fixture
def k(db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    """An initialised Klagomal on a SQLite file, without installed plugins."""
    instance = Klagomal(db_url, clock=clock, load_entrypoints=False)
    instance.init()
    yield instance
    instance.dispose()


@pytest.fixture
def new_case(k: Klagomal) -> Callable[..., Case]:
    """``new_case(**overrides)`` registers a case in ``k`` (see :func:`register_case`)."""
    return lambda **overrides: register_case(k, **overrides)
