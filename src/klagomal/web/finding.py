"""The endpoints of finding: search (:meth:`klagomal.Klagomal.search`),
the cases related to one (:meth:`klagomal.Klagomal.related`) and everything
held on one person (:meth:`klagomal.Klagomal.person_export`, GDPR article 15).

Each answers as the library does for the caller's user: only cases they
may read, never through a part hidden from them, audited (R27); the
person's export only for the roles the library allows.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from klagomal.cases.related import RelatedCase
from klagomal.records.gdpr import PersonQuery
from klagomal.web.auth import Caller
from klagomal.web.cases import case_json

__all__ = ["routes"]

#: The most cases one search returns (the library's limit).
MAX_FOUND = 500


@get("/search", sync_to_thread=True, summary="Sök ärenden")
def search(
    k: Caller,
    q: Annotated[str, QueryParameter(description="orden att söka; varje ord ska finnas i ärendet")],
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_FOUND, description="högst så många ärenden")] = 20,
    unit: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """The cases whose reference, texts, names or e-mail addresses hold
    every word of ``q``, best first, as the caller may see them
    (``klagomal search``): each with a snippet and its rank."""
    return {
        "found": [
            {
                "reference": f.case.reference,
                "snippet": f.snippet,
                "rank": f.rank,
                "case": case_json(k, f.case),
            }
            for f in k.search(q, limit=limit, unit=unit)
        ]
    }


def _related_json(k: Caller, entry: RelatedCase) -> dict[str, Any]:
    obj: dict[str, Any] = k.converter.unstructure(entry)
    obj["why"] = entry.why
    return obj


@get("/cases/{reference:str}/related", sync_to_thread=True, summary="Relaterade ärenden")
def related(k: Caller, reference: FromPath[str]) -> dict[str, Any]:
    """The cases related to the case that the caller may read, each with
    why (``klagomal related``): the same person's (``same_person``) and
    those with similar text at the same unit (``similar``)."""
    found = k.related(reference)
    return {
        "reference": found.reference,
        "same_person": [_related_json(k, c) for c in found.same_person],
        "similar": [_related_json(k, c) for c in found.similar],
    }


@post("/person-export", status_code=200, sync_to_thread=True, summary="Allt om en person (GDPR art. 15)")
def person_export(k: Caller, data: JSONBody[PersonQuery]) -> dict[str, Any]:
    """Everything klagomal holds on one person, found by ``email``,
    ``phone``, ``personnummer`` or ``name`` (``klagomal person export``):
    for a förvaltning's administrator the cases of their förvaltningar, for
    the system owner all; others get 403.  A POST, so that a personnummer
    is never in an address (and a server's log); it writes nothing but the
    audit log, so a retry is harmless and ``Idempotency-Key`` is not kept."""
    return k.person_export(data)


routes = [search, related, person_export]
