"""JSON for cases and events, with a cattrs converter.

The converter is built per :class:`~klagomal.Klagomal` after its plugins have
loaded.  Event payloads are tagged with their stable type id under ``"type"``,
dates are ISO 8601 strings and tuples become lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter as _make_json_converter
from cattrs.strategies import configure_tagged_union

from klagomal.core.events import Event, EventData
from klagomal.core.model import Case

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "case_to_json", "make_converter"]

EXPORT_FORMAT = "klagomal-export"
#: 2: notices carry their recipient and delivery state (the outbox); version 1
#: files are still read, their owed notices counted as handled by hand.
EXPORT_VERSION = 2


def _event_type(cls: type) -> str:
    tag: str = getattr(cls, "TYPE")  # noqa: B009 - every EventData class has one; mypy cannot see it
    return tag


def make_converter() -> cattrs.Converter:
    """A JSON converter that round-trips :class:`Case` and :class:`Event` exactly."""
    converter = _make_json_converter()
    # Aware timestamps keep their offset; storage hands back UTC.
    converter.register_structure_hook(dt.datetime, lambda value, _: dt.datetime.fromisoformat(value))
    configure_tagged_union(EventData, converter, tag_name="type", tag_generator=_event_type)
    return converter


def case_to_json(
    converter: cattrs.Converter, case: Case, events: list[Event] | None = None
) -> dict[str, Any]:
    """The object the CLI prints for a case with ``--json``.

    Always has ``reference, kind, channel, unit, state, level, received,
    acknowledge_by, respond_by, anonymous, serious, dimensions, handler,
    forwards, events``; ``events`` is ``null`` when they were not asked for.
    """
    data: dict[str, Any] = converter.unstructure(case)
    data["anonymous"] = case.anonymous
    data["level"] = int(case.level)
    data["events"] = None if events is None else [converter.unstructure(e) for e in events]
    return data
