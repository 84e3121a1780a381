"""Bulk import of cases from another system: JSON Lines or CSV, streamed.

A kommun that moves to klagomal brings its old register with it, often
hundreds of thousands of cases.  :func:`import_cases` reads the file a batch
at a time and never holds more than one batch, so its memory stays the same
whatever the size of the file.  Each batch is one transaction: a crash (even
``kill -9``) leaves whole batches and nothing half-written.

Every row carries the case's id in the old system (``external_id``).  It is
stored with the case, and a row whose id is already stored is skipped, so an
import that stopped can simply be run again: it continues where it stopped,
and nothing is stored twice.

Each row becomes the events the case would have had in klagomal: its
registration and, when the row says so, the besked, the answer and the
closing, each decided by :mod:`klagomal.cases.lifecycle` exactly as a handler's
step would be, and each dated on its own day.  A row that the lifecycle
refuses is not imported (a text with a control character or longer than
the rule allows, an e-mail address that is not one valid address: the same
checks as every registration, :mod:`klagomal.core.text_rules`): it is written, as
it was, with its line number and the reason, to a file of rejected rows, so
that nothing the old system held is lost.  The notices the imported steps gave rise to are recorded as given
by the old system (status ``imported``) and are never sent, and no event
listeners are told (they are for what happens now).

The row's fields are listed in :data:`FIELDS`; ``docs/storage.md`` documents
them with an example.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from klagomal.cases import lifecycle
from klagomal.core.errors import InvalidInputError, KlagomalError
from klagomal.core.events import Escalated, Event, EventData, PraisePassedOn, Registered
from klagomal.core.i18n import _
from klagomal.core.model import Case, Contact, Intake
from klagomal.core.text_rules import check_text
from klagomal.notices.outbox import owed_recipients

__all__ = [
    "FIELDS",
    "BulkImportResult",
    "ImportedCase",
    "Rejection",
    "RejectsFile",
    "RowBuilder",
    "detect_format",
    "import_cases",
    "read_rows",
]

#: The fields of an import row, and whether each is required.  Dates are
#: ``YYYY-MM-DD``.  ``dimensions`` is a JSON list, or in CSV ids separated by
#: ``,``, ``;`` or ``|`` (whichever is not the CSV's own delimiter).
#: Booleans are ``true``/``false`` (also ``ja``/``nej``, ``1``/``0``).  A row
#: with no contact field filled in is anonymous.
FIELDS: dict[str, bool] = {
    "external_id": True,
    "kind": True,
    "channel": True,
    "unit": True,
    "text": True,
    "received": True,
    "name": False,
    "email": False,
    "phone": False,
    "address": False,
    "dimensions": False,
    "serious": False,
    "handler": False,
    "acknowledged": False,
    "respond_by": False,
    "answered": False,
    "answer_mode": False,
    "answer": False,
    "closed": False,
    "satisfied": False,
}

_FIELD_NAMES = frozenset(FIELDS)
_REQUIRED = tuple(name for name, required in FIELDS.items() if required)

#: The longest external id that is stored (the column's width).
MAX_EXTERNAL_ID = 200

_TRUE = {"true", "1", "ja", "yes", "j", "sant"}
_FALSE = {"false", "0", "nej", "no", "n", "falskt"}
_STEP = "bulk-import"
#: How many days' lifecycle contexts a :class:`RowBuilder` keeps.
_CONTEXTS_KEPT = 4096


@attrs.frozen
class Rejection:
    """A row that was not imported, with where it was and why.

    :param line: the line number in the file (the first line of a CSV
        record that spans several).
    :param reason: why, in Swedish, naming the step that refused it.
    :param raw: the row as it stood in the file.
    :param external_id: the row's external id, when it could be read.
    """

    line: int
    reason: str
    raw: str
    external_id: str | None = None


@attrs.frozen
class BulkImportResult:
    """What an import did.

    :param read: rows read from the file.
    :param imported: cases stored by this run.
    :param skipped: rows whose external id was already stored (an earlier
        run, or earlier in this file).
    :param rejected: rows not imported; each is in the rejects file.
    :param rejects_file: where the rejected rows were written, if any were.
    """

    read: int
    imported: int
    skipped: int
    rejected: int
    rejects_file: str | None


@attrs.frozen
class ImportedCase:
    """One row made into a case, before it has a reference.

    ``case`` and every event carry the external id as their reference until
    the batch is stored and real references are allocated.  ``notices`` are
    the ``(event seq, kind, recipient)`` of the notices the steps gave rise to; they
    are stored as given by the old system (status ``imported``), so that
    nothing is sent again and an export of the case is complete.
    """

    external_id: str
    case: Case
    events: tuple[Event, ...]
    notices: tuple[tuple[int, str, str], ...] = ()


# -- reading -----------------------------------------------------------------


@attrs.frozen
class _Row:
    line: int
    raw: str
    fields: Mapping[str, Any] | None  # None when the line itself is unreadable
    error: str | None = None


def detect_format(path: str, format: str | None) -> str:
    """``jsonl`` or ``csv``: *format* if given, else by the file's ending."""
    if format is not None:
        if format not in ("jsonl", "csv"):
            raise InvalidInputError(
                _("okänt format '{format}' (giltiga: jsonl, csv)").format(format=format), step=_STEP
            )
        return format
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise InvalidInputError(
        _("kan inte avgöra formatet på {file}; ange --format jsonl eller csv").format(file=path), step=_STEP
    )


class _CountingLines:
    """The lines of a binary file, decoded as UTF-8 (a BOM is dropped),
    counting the bytes read for the progress bar.  A line that is not
    valid UTF-8 is decoded with replacement characters and remembered, so
    that the row it belongs to is rejected rather than imported wrongly."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes_read = 0
        self.line = 0
        self.bad_lines: set[int] = set()
        self._first = True

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            self.bytes_read += len(raw)
            self.line += 1
            if self._first:
                self._first = False
                if raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.add(self.line)
                yield raw.decode("utf-8", errors="replace")


def _jsonl_rows(lines: _CountingLines) -> Iterator[_Row]:
    for text in lines:
        line = lines.line
        if not text.strip():
            continue
        raw = text.rstrip("\r\n")
        if line in lines.bad_lines:
            yield _Row(line, raw, None, _("raden är inte giltig UTF-8"))
            continue
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as exc:
            yield _Row(line, raw, None, _("raden är inte giltig JSON: {reason}").format(reason=exc.msg))
            continue
        if not isinstance(fields, dict):
            yield _Row(line, raw, None, _("raden är inget JSON-objekt"))
            continue
        yield _Row(line, raw, fields)


def _csv_rows(lines: _CountingLines, columns: Collection[str] = FIELDS) -> Iterator[_Row]:
    records = iter(lines)
    try:
        header_line = next(records)
    except StopIteration:
        return
    # Swedish spreadsheets write ';' between fields, since ',' is the decimal sign.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    try:
        header = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error:
        raise InvalidInputError(
            _("rubrikraden kan inte läsas som CSV; är filen en CSV-fil?"),
            step=_STEP,
        ) from None
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise InvalidInputError(
            _("okända kolumner i rubrikraden: {names} (giltiga: {valid})").format(
                names=", ".join(unknown), valid=", ".join(columns)
            ),
            step=_STEP,
        )
    raw_lines: list[str] = []

    def remembered() -> Iterator[str]:
        for text in records:
            raw_lines.append(text)
            yield text

    reader = csv.reader(remembered(), delimiter=delimiter)
    while True:
        raw_lines.clear()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            reason = _("raden kan inte läsas som CSV (ett citattecken som inte avslutas, ett styrtecken)")
            yield _Row(lines.line, "".join(raw_lines).rstrip("\r\n"), None, reason)
            continue
        first = lines.line - len(raw_lines) + 1
        raw = "".join(raw_lines).rstrip("\r\n")
        if not any(v.strip() for v in values):
            continue
        if any(n in lines.bad_lines for n in range(first, lines.line + 1)):
            yield _Row(first, raw, None, _("raden är inte giltig UTF-8"))
            continue
        if len(values) != len(header):
            yield _Row(
                first,
                raw,
                None,
                _("raden har {n} fält men rubrikraden {m}").format(n=len(values), m=len(header)),
            )
            continue
        yield _Row(first, raw, dict(zip(header, values, strict=True)))


def read_rows(
    stream: IO[bytes], format: str, columns: Collection[str] = FIELDS
) -> tuple[Iterator[_Row], _CountingLines]:
    """The rows of *stream* in *format* (``jsonl`` or ``csv``), lazily, and
    the line reader that counts the bytes read so far.  A CSV header may only
    name *columns*."""
    lines = _CountingLines(stream)
    return (_jsonl_rows(lines) if format == "jsonl" else _csv_rows(lines, columns)), lines


# -- one row -----------------------------------------------------------------


def _text_field(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value)
        else:
            raise InvalidInputError(_("fältet {field} ska vara text").format(field=name), step=_STEP)
    value = value.strip()
    return value or None


def _date_field(fields: Mapping[str, Any], name: str) -> dt.date | None:
    return _date(name, _text_field(fields, name))


def _date(name: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            _("fältet {field} är inget datum (ÅÅÅÅ-MM-DD): '{value}'").format(field=name, value=value),
            step=_STEP,
        ) from None


def _bool_field(fields: Mapping[str, Any], name: str) -> bool | None:
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(
        _("fältet {field} ska vara true eller false, inte '{value}'").format(field=name, value=value),
        step=_STEP,
    )


def _dimensions(fields: Mapping[str, Any]) -> tuple[str, ...]:
    value = fields.get("dimensions")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(d.strip() for d in re.split(r"[,;|]", value) if d.strip())
    if isinstance(value, list) and all(isinstance(d, str) for d in value):
        return tuple(value)
    raise InvalidInputError(_("fältet dimensions ska vara en lista med id:n"), step=_STEP)


def external_id_of(fields: Mapping[str, Any] | None) -> str | None:
    """The row's external id, if it has a usable one."""
    if fields is None:
        return None
    try:
        value = _text_field(fields, "external_id")
    except InvalidInputError:
        return None
    return value if value is not None and len(value) <= MAX_EXTERNAL_ID else None


class RowBuilder:
    """Makes rows into cases with the lifecycle's own decisions.

    :param context: a lifecycle context for a given day; each step of a row
        is decided on the day the row says it happened.
    :param registration: the registration of checked feedback, as the
        plugins decide it (seriousness, routing, anonymity, intake checks,
        secrecy): :meth:`klagomal.Klagomal.registration`.
    :param now: the moment recorded on every event (when it was imported);
        no step may be dated after its day.
    """

    def __init__(
        self,
        context: Callable[[dt.date], lifecycle.Context],
        registration: Callable[[Intake, lifecycle.Context], Registered],
        now: dt.datetime,
        actor: str | None,
    ) -> None:
        self.context = context
        self.registration = registration
        self.now = now
        self.today = now.date()
        self.actor = actor
        self._contexts: dict[dt.date, lifecycle.Context] = {}

    def _context(self, day: dt.date) -> lifecycle.Context:
        """The context of *day*, made once per day: an old register comes in
        date order, with many steps on each day.  A context is immutable, so
        the same one serves every step of its day."""
        ctx = self._contexts.get(day)
        if ctx is None:
            if len(self._contexts) >= _CONTEXTS_KEPT:
                self._contexts.clear()  # memory stays bounded whatever the dates
            ctx = self._contexts[day] = self.context(day)
        return ctx

    def build(self, fields: Mapping[str, Any]) -> ImportedCase:
        """The case and its events that *fields* describe, or an
        :class:`InvalidInputError` saying which step refused it and why."""
        unknown = fields.keys() - _FIELD_NAMES
        if unknown:
            raise InvalidInputError(
                _("okända fält: {names}").format(names=", ".join(sorted(unknown))), step=_STEP
            )
        # Each required field read once: a million rows make this count.
        required = {name: _text_field(fields, name) for name in _REQUIRED}
        missing = [name for name, value in required.items() if value is None]
        if missing:
            raise InvalidInputError(
                _("obligatoriska fält saknas: {names}").format(names=", ".join(missing)), step=_STEP
            )
        external_id = required["external_id"]
        assert external_id is not None
        if len(external_id) > MAX_EXTERNAL_ID:
            raise InvalidInputError(
                _("external_id är längre än {n} tecken").format(n=MAX_EXTERNAL_ID), step=_STEP
            )
        # The texts, names and contact of the row are checked by the
        # lifecycle's own decisions (klagomal.core.text_rules); the id is ours.
        check_text(external_id, step=_STEP, field="external_id", multiline=False, max_length=None)
        received = _date("received", required["received"])
        assert received is not None
        acknowledged = _date_field(fields, "acknowledged")
        answered = _date_field(fields, "answered")
        closed = _date_field(fields, "closed")
        for name, day in (
            ("received", received),
            ("acknowledged", acknowledged),
            ("answered", answered),
            ("closed", closed),
        ):
            if day is not None and day > self.today:
                raise InvalidInputError(
                    _("fältet {field} ({day}) ligger efter dagens datum {today}").format(
                        field=name, day=day, today=self.today
                    ),
                    step=_STEP,
                )
        contact = Contact(
            name=_text_field(fields, "name"),
            email=_text_field(fields, "email"),
            phone=_text_field(fields, "phone"),
            address=_text_field(fields, "address"),
        )
        ctx = self._context(received)
        intake = lifecycle.check_intake(
            ctx,
            kind=required["kind"] or "",
            channel=required["channel"] or "",
            unit=required["unit"],
            text=str(fields["text"]),  # the person's own words, kept exactly
            received=received,
            contact=None if contact.is_empty() else contact,
            dimensions=_dimensions(fields),
            serious=bool(_bool_field(fields, "serious")),
        )
        registered = self.registration(intake, ctx)
        data: EventData = attrs.evolve(registered, external_id=external_id)
        # The events so far and the notices they gave rise to.
        events: list[Event] = []
        notices: list[tuple[int, str, str]] = []
        trail = (events, notices)
        case = self._apply(None, external_id, received, data, trail)
        if acknowledged is not None:
            handler = _text_field(fields, "handler") or ""
            respond_by = _date_field(fields, "respond_by")
            case = self._step(
                case,
                acknowledged,
                "acknowledge",
                trail,
                external_id,
                lambda c, x: lifecycle.acknowledge(c, x, handler, respond_by),
            )
        if answered is not None:
            mode = _text_field(fields, "answer_mode") or "skriftligt"
            text = _text_field(fields, "answer") or _("(svaret finns i det tidigare systemet)")
            case = self._step(
                case, answered, "answer", trail, external_id, lambda c, x: lifecycle.answer(c, x, mode, text)
            )
        if closed is not None:
            satisfied = _bool_field(fields, "satisfied")
            case = self._step(
                case, closed, "close", trail, external_id, lambda c, x: lifecycle.close(c, x, satisfied)
            )
        return ImportedCase(external_id, case, tuple(events), tuple(notices))

    def _step(
        self,
        case: Case,
        day: dt.date,
        step: str,
        trail: tuple[list[Event], list[tuple[int, str, str]]],
        external_id: str,
        decide: Callable[[Case, lifecycle.Context], EventData],
    ) -> Case:
        ctx = self._context(day)
        lifecycle.check_date(case, ctx, step)
        try:
            data = decide(case, ctx)
        except InvalidInputError as exc:
            raise exc.in_context(step=step, reference=external_id) from exc
        return self._apply(case, external_id, day, data, trail)

    def _apply(
        self,
        case: Case | None,
        external_id: str,
        day: dt.date,
        data: EventData,
        trail: tuple[list[Event], list[tuple[int, str, str]]],
    ) -> Case:
        events, notices = trail
        event = Event(
            reference=external_id,
            seq=len(events) + 1,
            day=day,
            recorded_at=self.now,
            data=data,
            actor=self.actor,
        )
        events.append(event)
        case = lifecycle.evolve(case, event)
        if isinstance(data, PraisePassedOn | Escalated):
            # Staff notices too, so that an export of the case is complete.
            # Only these steps owe any; every other step takes the cheaper
            # citizen_notice below (owed_recipients for all four million
            # events of a large import cost a percent or two of its rate).
            organisation = self._context(day).organisation
            notices += (
                (event.seq, kind, who) for kind, who, _way in owed_recipients(case, event, organisation)
            )
        else:
            notice = lifecycle.citizen_notice(case, event)
            if notice is not None:
                notices.append((event.seq, notice, "person"))
        return case


# -- the import --------------------------------------------------------------


def import_cases(
    rows: Iterable[_Row],
    *,
    builder: RowBuilder,
    store: Callable[[list[ImportedCase]], int],
    known: Callable[[list[str]], set[str]],
    reject: Callable[[Rejection], None],
    batch_size: int = 1000,
    progress: Callable[[], None] | None = None,
) -> tuple[int, int, int, int]:
    """Import *rows* a batch at a time; return ``(read, imported, skipped,
    rejected)``.

    :param store: stores one batch in one transaction and returns how many
        it stored (a row another importer stored meanwhile is not counted).
    :param known: which of the given external ids are stored already.
    :param reject: receives every row that is not imported.
    :param progress: called after every batch.
    """
    if batch_size < 1:
        raise InvalidInputError(_("batchstorleken måste vara minst 1"), step=_STEP)
    read = imported = skipped = rejected = 0
    batch: list[_Row] = []

    def flush() -> None:
        nonlocal imported, skipped, rejected
        external = [external_id_of(row.fields) for row in batch]
        ids = [i for i in external if i is not None]
        stored = known(ids) if ids else set()
        seen: set[str] = set()
        ready: list[ImportedCase] = []
        for row, external_id in zip(batch, external, strict=True):
            if row.fields is None:
                rejected += 1
                reject(Rejection(row.line, row.error or "", row.raw))
                continue
            if external_id is not None and (external_id in stored or external_id in seen):
                skipped += 1
                continue
            try:
                made = builder.build(row.fields)
            except KlagomalError as exc:
                rejected += 1
                reject(Rejection(row.line, str(exc), row.raw, external_id))
                continue
            seen.add(made.external_id)
            ready.append(made)
        if ready:
            stored_now = store(ready)
            imported += stored_now
            skipped += len(ready) - stored_now
        batch.clear()
        if progress is not None:
            progress()

    for row in rows:
        read += 1
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return read, imported, skipped, rejected


class RejectsFile:
    """Rejected rows as JSON Lines, ``{"line", "reason", "external_id",
    "raw"}``; the file is created only when a row is rejected."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._fh: IO[str] | None = None

    def __call__(self, rejection: Rejection) -> None:
        if self._fh is None:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._fh.write(json.dumps(attrs.asdict(rejection), ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file if one was opened."""
        if self._fh is not None:
            self._fh.close()

    @property
    def written(self) -> str | None:
        """The path, if anything was written."""
        return self.path if self._fh is not None else None
