"""JSON for cases and events, with a cattrs converter.

The converter is built per :class:`~klagomal.Klagomal` after its plugins have
loaded.  Event payloads are tagged with their stable type id under ``"type"``,
dates are ISO 8601 strings and tuples become lists.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter as _make_json_converter

from klagomal.core.events import Event, EventData
from klagomal.core.model import Case

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "EXPORT_VERSIONS", "case_to_json", "make_converter"]

EXPORT_FORMAT = "klagomal-export"
#: The version an export is written in.  2: notices carry their recipient
#: and delivery state (the outbox); version 1 files are still read, their
#: owed notices counted as handled by hand.  3: ``webhooks`` and
#: ``webhook_deliveries`` (the subscriptions, their signing secrets with
#: ``include_secrets``, and their deliveries), which a klagomal that reads
#: only 1 and 2 would skip without a word; a version 2 file that carries
#: them (written before the version was raised) is still read with them.
#: 4: a case's language (``language`` of the ``registered`` and
#: ``contact_corrected`` events, lag 2009:724), which a klagomal that reads
#: only 1 to 3 would drop without a word, writing the person's letters in
#: Swedish; a file of an older version has none, and its cases are Swedish.
EXPORT_VERSION = 4
#: Every version an import reads, oldest first; a newer one is refused.
EXPORT_VERSIONS = (1, 2, 3, 4)


def _event_type(cls: type) -> str:
    tag: str = getattr(cls, "TYPE")  # noqa: B009 - every EventData class has one; mypy cannot see it
    return tag


def make_converter() -> cattrs.Converter:
    """A JSON converter that round-trips :class:`Case` and :class:`Event` exactly."""
    converter = _make_json_converter()
    # Aware timestamps keep their offset; storage hands back UTC.
    converter.register_structure_hook(dt.datetime, lambda value, _: dt.datetime.fromisoformat(value))
    _tag_events(converter)
    return converter


def _tag_events(converter: cattrs.Converter) -> None:
    """What cattrs' ``configure_tagged_union(EventData, converter,
    tag_name="type")`` does, with each kind of event's hooks made when that
    kind is first met rather than all twenty at once: every command builds a
    converter, most meet a few kinds of event, and making the hooks of all
    of them was a sixth of the start-up of ``klagomal show``."""
    classes: dict[str, type] = {_event_type(cls): cls for cls in typing.get_args(EventData)}
    tags = {cls: tag for tag, cls in classes.items()}
    structure_hooks: dict[str, tuple[Callable[[Any, Any], Any], type]] = {}
    unstructure_hooks: dict[type, Callable[[Any], dict[str, Any]]] = {}

    def structure(value: dict[str, Any], _: Any) -> Any:
        tag = value["type"]
        found = structure_hooks.get(tag)
        if found is None:
            cls = classes[tag]
            found = structure_hooks[tag] = (converter.get_structure_hook(cls), cls)
        hook, cls = found
        return hook(value, cls)

    def unstructure(value: Any) -> dict[str, Any]:
        cls = value.__class__
        tag = tags[cls]  # a KeyError for a class that is no event, as with cattrs' strategy
        hook = unstructure_hooks.get(cls)
        if hook is None:
            hook = unstructure_hooks[cls] = converter.get_unstructure_hook(cls)
        data = hook(value)
        data["type"] = tag
        return data

    converter.register_structure_hook(EventData, structure)
    converter.register_unstructure_hook(EventData, unstructure)


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
    # SWEREF 99 TM computed where it was not stored and pyproj is there.
    data["location"] = None if case.location is None else case.location.as_json()
    data["events"] = None if events is None else [converter.unstructure(e) for e in events]
    return data
