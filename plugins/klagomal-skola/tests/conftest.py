"""Every ``klagomal_instance`` in these tests has the plugin registered."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import klagomal_skola

# klagomal's fixtures (klagomal_instance, make_klagomal, ...) are opt-in: this is the
# top-level conftest.py of the plugin's tests, where pytest reads ``pytest_plugins``.
pytest_plugins = ["klagomal.testing.pytest_plugin"]


@pytest.fixture
def klagomal_plugins() -> Sequence[object]:
    """The plugin module itself, as its entry point registers it."""
    return [klagomal_skola]
