"""klagomal's HTTP face: a JSON API for the kommun's other systems
(docs/api.md), served by ``klagomal serve`` or by uvicorn in production
(docs/web.md).

Like the command line it is a *face*: it calls only the facade
(:class:`klagomal.Klagomal`) and the core, and every rule, access check and
audit entry stays in the library.  Each request acts as the user its API key
is bound to (:meth:`klagomal.Klagomal.as_user`).

Its modules need the ``web`` extra (``pip install 'klagomal[web]'``:
Litestar, uvicorn and prometheus_client); this package's ``__init__`` imports none of them, so
that :func:`missing_extra` can say in Swedish what to install.

- :mod:`klagomal.web.app`: :func:`~klagomal.web.app.create_app`, the
  application and its configuration;
- :mod:`klagomal.web.problems`: errors as RFC 9457 problem details;
- :mod:`klagomal.web.auth`: who is calling (API keys, the proxy's trusted header);
- :mod:`klagomal.web.cases`: the endpoints of cases;
- :mod:`klagomal.web.attachments`: a case's attachments and photos;
- :mod:`klagomal.web.finding`: search, related cases, a person's export;
- :mod:`klagomal.web.webhooks`: webhook subscriptions and deliveries;
- :mod:`klagomal.web.observe`: ``/healthz``, ``/readyz``, ``/metrics`` and
  every request counted and logged (:mod:`klagomal.observe`).
"""

from __future__ import annotations

from klagomal.core.i18n import _
from klagomal.observe import missing_packages

__all__ = ["WEB_PACKAGES", "missing_extra"]

#: The packages of the ``web`` extra, by import name.
WEB_PACKAGES = ("litestar", "uvicorn", "prometheus_client")


def missing_extra() -> str | None:
    """A Swedish sentence saying what to install when the ``web`` extra is
    missing; ``None`` when it is there."""
    missing = missing_packages(WEB_PACKAGES)
    if not missing:
        return None
    return _(
        "webbservern behöver tillägget 'web', som saknas ({packages}); installera det med "
        "pip install 'klagomal[web]'"
    ).format(packages=", ".join(missing))
