"""Runs the examples in README.md and docs/*.md as tests (Sybil).

Every fenced ```python block is executed; blocks with ``>>>`` are doctests
whose output must match exactly.  Each document runs in its own temporary
directory, so examples may create SQLite files freely.
"""

from __future__ import annotations

import doctest
import os
import tempfile
from typing import Any

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

# klagomal's fixtures for plugin authors (make_klagomal, klagomal_instance, ...) are opt-in,
# as they are for every other test suite: tests/test_hooks.py and tests/test_mail.py use them.
pytest_plugins = ["klagomal.testing.pytest_plugin"]


def _setup(namespace: dict[str, Any]) -> None:
    # One directory per document: its examples build on each other.
    namespace["_tmpdir"] = tmpdir = tempfile.TemporaryDirectory(prefix="klagomal-doc-")
    namespace["_cwd"] = os.getcwd()
    namespace["_environ"] = {
        var: os.environ.pop(var) for var in ("KLAGOMAL_DB", "KLAGOMAL_ORG") if var in os.environ
    }
    os.chdir(tmpdir.name)


def _teardown(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["_cwd"])
    os.environ.update(namespace["_environ"])
    namespace["_tmpdir"].cleanup()


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        SkipParser(),
    ],
    patterns=["README.md", "docs/*.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()
