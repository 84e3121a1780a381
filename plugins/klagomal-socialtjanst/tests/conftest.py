"""Every ``klagomal_instance`` gets the plugin, registered as a module (its
name in notes is then ``klagomal_socialtjanst``; installed through its entry
point it is ``socialtjanst``)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import klagomal_socialtjanst

# klagomal's fixtures (klagomal_instance, make_klagomal, ...) are opt-in: this is the
# top-level conftest.py of the plugin's tests, where pytest reads ``pytest_plugins``.
pytest_plugins = ["klagomal.testing.pytest_plugin"]


@pytest.fixture
def klagomal_plugins() -> Sequence[object]:
    return (klagomal_socialtjanst,)
