"""The ``klagomal`` command line (being split into a package: see cases.py)."""

from klagomal.cli.cases import _build_parser as _build_parser
from klagomal.cli.cases import main

__all__ = ["main"]
