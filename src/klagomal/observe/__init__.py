"""What operations watches in a running klagomal (issue 23, docs/web.md
"Health, metrics and logs"): the same for the web application and for a
process without one (``klagomal worker``).

- :mod:`klagomal.observe.health`: liveness (the process answers) and
  readiness (the database answers and its schema is current), bounded in
  time;
- :mod:`klagomal.observe.metrics`: Prometheus metrics in a registry of the
  process's own (:func:`~klagomal.observe.metrics.new_registry`), counts read
  from the database at most every 15 s, the HTTP requests, and who may
  read them;
- :mod:`klagomal.observe.logs`: the log as JSON lines without personal
  data (:func:`~klagomal.observe.logs.use_json_logs`);
- :mod:`klagomal.observe.server`: ``/healthz``, ``/readyz`` and
  ``/metrics`` on a small HTTP server of the standard library
  (:func:`~klagomal.observe.server.start_observe_server`), for a process
  without the web application.

A layer between the faces and the facade: it calls the facade and never
imports the web framework.  The metrics need ``prometheus_client``, the
extra ``ops`` (which ``web`` includes); this ``__init__`` imports none of
it, so that :func:`missing_extra` can say in Swedish what to install.
"""

from __future__ import annotations

import importlib

from klagomal.core.i18n import _

__all__ = ["OPS_PACKAGES", "missing_extra", "missing_packages"]

#: The packages of the ``ops`` extra, by import name.
OPS_PACKAGES = ("prometheus_client",)


def missing_packages(names: tuple[str, ...]) -> list[str]:
    """Those of the packages *names* (import names) that cannot be imported."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def missing_extra() -> str | None:
    """A Swedish sentence saying what to install when the ``ops`` extra is
    missing; ``None`` when it is there."""
    missing = missing_packages(OPS_PACKAGES)
    if not missing:
        return None
    return _(
        "mätvärdena behöver tillägget 'ops', som saknas ({packages}); installera det med "
        "pip install 'klagomal[ops]'"
    ).format(packages=", ".join(missing))
