"""Every ``klagomal_instance`` in these tests has the plugin registered."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import klagomal_skola


@pytest.fixture
def klagomal_plugins() -> Sequence[object]:
    """The plugin module itself, as its entry point registers it."""
    return [klagomal_skola]
