"""The log as JSON lines, for a log collector, without personal data.

One JSON object per line on stderr: ``time`` (UTC, ISO 8601 with
milliseconds), ``level``, ``logger``, ``message``; a request's line
(:func:`log_request`) adds ``method``, ``route`` (the route's template,
``/folj/{token}``, never the path a client sent), ``status`` and
``duration_ms``; a record with a traceback adds ``exception``: the
exception's class and its frames (file name, line, function), never its
message.

No personal data, by construction rather than by scrubbing: klagomal's log
messages are templates with values (``ärende %s``, ``till %s``), and a
value may be a reference, a path with a link's token, a name or an e-mail
address.  So a line carries the template with every value that is no
number replaced by ``[…]``; only records marked ``extra={PUBLIC: True}``
by code that knows its values hold nothing of a person (the request lines,
the server's address) are written whole.  Nothing reads a request's path,
query, headers or body into the log.  The text log (``--log-format
text``, the default) is unchanged: it is for a person at the machine.

:func:`use_json_logs` is what ``klagomal serve --log-format json`` and
``KLAGOMAL_LOG_FORMAT=json`` (the web application under uvicorn, the
worker) turn on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import IO, Any

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _

__all__ = [
    "FORMATS",
    "FORMAT_VARIABLE",
    "METHODS",
    "PUBLIC",
    "REDACTED",
    "REQUEST_FIELDS",
    "REQUEST_LOGGER",
    "JsonFormatter",
    "log_format",
    "log_request",
    "message_of",
    "method_label",
    "use_json_logs",
]

#: ``extra={PUBLIC: True}``: the record's values hold no personal data and
#: are written whole in a JSON line.
PUBLIC = "klagomal_public"
#: What a value of a record not marked :data:`PUBLIC` is written as.
REDACTED = "[…]"
#: The fields a request's line adds.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms")
#: The logger of the request lines.
REQUEST_LOGGER = "klagomal.requests"
#: The log formats, the first the default.
FORMATS = ("text", "json")
#: The environment variable that picks the format where no option can:
#: the web application under uvicorn, the worker.
FORMAT_VARIABLE = "KLAGOMAL_LOG_FORMAT"

_request_log = logging.getLogger(REQUEST_LOGGER)


def log_format(value: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The log format *value* names, else :data:`FORMAT_VARIABLE`'s, else ``text``.

    :raises ConfigurationError: a format that is neither.
    """
    env = os.environ if environ is None else environ
    chosen = (value or env.get(FORMAT_VARIABLE, "") or FORMATS[0]).strip().lower()
    if chosen not in FORMATS:
        raise ConfigurationError(
            _("loggformatet '{value}' finns inte ({variable}); välj text eller json").format(
                value=chosen, variable=FORMAT_VARIABLE
            )
        )
    return chosen


def _kept(value: Any) -> Any:
    """A value as a line not marked public may hold it: a number, or ``[…]``."""
    if isinstance(value, bool | int | float):
        return value
    return REDACTED


def message_of(record: logging.LogRecord) -> str:
    """The record's message as a JSON line carries it (see the module)."""
    template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
    args = record.args
    if not args:
        return template
    if getattr(record, PUBLIC, False):
        return record.getMessage()
    kept: Any
    if isinstance(args, Mapping):
        kept = {key: _kept(value) for key, value in args.items()}
    else:
        kept = tuple(_kept(value) for value in args)
    try:
        return str(template % kept)
    except (TypeError, ValueError, KeyError):  # a %d given [...]: the template alone
        return template


def _exception(record: logging.LogRecord) -> dict[str, Any] | None:
    """The traceback of *record*, without the exception's message (which
    may quote a person's data): its class and frames."""
    if not record.exc_info or record.exc_info[0] is None:
        return None
    kind, _value, tb = record.exc_info
    frames = [
        f"{os.path.basename(frame.filename)}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(tb)
    ]
    return {"type": f"{kind.__module__}.{kind.__qualname__}", "frames": frames}


def _utc(created: float) -> str:
    """*created* as UTC in ISO 8601 with milliseconds: ``2026-03-02T09:15:04.123Z``."""
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": message_of(record),
        }
        for name in REQUEST_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        exception = _exception(record)
        if exception is not None:
            line["exception"] = exception
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the stream given, or to ``sys.stderr`` as it is when a record comes."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream)
        self._fixed = stream is not None

    def emit(self, record: logging.LogRecord) -> None:
        if not self._fixed:
            self.stream = sys.stderr
        super().emit(record)


def use_json_logs(stream: IO[str] | None = None, level: int = logging.INFO) -> Callable[[], None]:
    """Write every log record from *level* up as a JSON line on *stream*
    (default: stderr), and nothing else; return what puts the logging back
    as it was.

    Every handler the process's loggers have (the command line's, the web
    framework's, uvicorn's) is taken off and their records go to the root
    logger's one JSON handler.  uvicorn's access log is turned off: its line
    holds the path with its query and the client's address; the request
    lines of :func:`log_request` take its place.
    """
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved: list[tuple[logging.Logger, list[logging.Handler], bool, bool]] = []
    known = list(logging.root.manager.loggerDict.values())
    existing = [each for each in known if isinstance(each, logging.Logger)]
    for logger in existing:
        if logger.handlers or logger.name == "uvicorn.access" or not logger.propagate:
            saved.append((logger, list(logger.handlers), logger.propagate, logger.disabled))
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(entry[0] is access for entry in saved):
        saved.append((access, list(access.handlers), access.propagate, access.disabled))
    access.disabled = True
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = _StderrHandler(stream)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    _request_log.setLevel(logging.INFO)

    def restore() -> None:
        # Every JSON handler goes, also one a later call added (create_app's, after Litestar's).
        for current in list(root.handlers):
            if isinstance(current.formatter, JsonFormatter):
                root.removeHandler(current)
        for old in saved_root[0]:
            root.addHandler(old)
        root.setLevel(saved_root[1])
        for logger, handlers, propagate, disabled in saved:
            for old in handlers:
                logger.addHandler(old)
            logger.propagate, logger.disabled = propagate, disabled
        _request_log.setLevel(logging.NOTSET)

    return restore


#: The methods a request's line and metrics name; any other is ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def method_label(method: str) -> str:
    """*method* as the log and the metrics name it: a method a client may
    send anything as is one of :data:`METHODS` or ``other``."""
    return method if method in METHODS else "other"


def log_request(method: str, route: str, status: int, seconds: float) -> None:
    """One request's line: its method, its route's template (never the
    path), its status and how long it took (``duration_ms``)."""
    if not _request_log.isEnabledFor(logging.INFO):
        return
    method = method_label(method)
    duration_ms = round(seconds * 1000, 1)
    _request_log.info(
        "%s %s %s %s ms",
        method,
        route,
        status,
        duration_ms,
        extra={PUBLIC: True, "method": method, "route": route, "status": status, "duration_ms": duration_ms},
    )
