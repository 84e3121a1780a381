"""Property-based tests of the HTTP API from its own OpenAPI document
(schemathesis, issue 21): requests generated from the document's schemas,
sent to a real ``klagomal serve`` on SQLite and on PostgreSQL, must never
get a 5xx, and every answer must match the document: a documented status,
its content type and its schema; errors are problems, as the document's
``default`` response says.  A body that is no JSON gets a 400 of that form.

Every operation of the document is generated against: the list is read
from ``/api/openapi.json`` itself, so an endpoint added later is tested
without touching this file.  So that the requests get past the checks in
front of a handler and into it, most of them carry

* a real case for ``{reference}`` (from a pool of cases in several states,
  which the generated steps move on), and otherwise a generated one;
* a valid ``If-Match``: ``*`` or the case's current ``ETag``, and otherwise
  what schemathesis generates (often none: the 428, or a stale one: 412);
* the API key of a user of each role in turn (access denied is an answer too),
  and sometimes an ``Idempotency-Key``.

:data:`MAX_EXAMPLES` requests per operation and backend: with the 35
operations of the API (December 2026) that is ~1750 requests a backend,
about 25 s each on a 2-core machine (under a minute for both), and enough
that every step's body is generated in several shapes; each run draws new
ones (``database=None``: no replay of earlier failures, no state kept).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import BACKENDS, server_url

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.test_web_server import HEMTJANST, Server, register, start_server, stop  # noqa: E402

#: What every answer is checked for: no 5xx; a status, content type and body as
#: the document says (errors: ``default``, a problem of ``application/problem+json``).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

#: Generated requests per operation and backend (see the module's docstring).
MAX_EXAMPLES = 50

#: The backends generated against: the embedded SQLite and PostgreSQL
#: (skipped without ``KLAGOMAL_TEST_POSTGRESQL``, failed in CI without it).
SCHEMATHESIS_BACKENDS = ["sqlite", "postgresql"]

#: How the pool's cases are brought into their states: the steps after registering.
POOL_ROUTINES: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (),
    (("acknowledge", {}),),
    (("acknowledge", {}), ("pause", {"reason": "Vi väntar på ett intyg."})),
    (("acknowledge", {}), ("answer", {"mode": "skriftligt", "text": "Vi har pratat med personalen."})),
    (
        ("acknowledge", {}),
        ("answer", {"mode": "skriftligt", "text": "Svar."}),
        ("close", {"satisfied": False}),
    ),
)


#: Values the library accepts, by the name of a body field or a query
#: parameter: most requests get them in place of the generated ones, so that
#: a step is taken and a report made, not only refused as bad input.  They
#: are by name, not by endpoint: an endpoint added later gets them too.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.sampled_from(["klagomal", "forslag", "berom", "hotfullt", "krankande"]),
    "channel": st.sampled_from(["telefon", "epost", "webbformular", "brev"]),
    "unit": st.just(HEMTJANST),
    "dimensions": st.just([]),
    "received": st.none(),
    "contact": st.none() | st.just({"name": "Eva Svensson", "email": "eva@example.se"}),
    "resolved": st.none(),
    "to_unit": st.just("soc-aldre-solgarden"),
    "handler": st.sampled_from(["omar.ali", "Omar Ali"]),
    "mode": st.sampled_from(["skriftligt", "muntligt"]),
    "respond_by": st.dates(dt.date(2026, 1, 1), dt.date(2099, 12, 31)).map(str),
    "route": st.just("felanmalan"),
    "recipients": st.just(["Omar Ali"]),
    "about": st.sampled_from(["arende", "person"]),
    "ground": st.just("OSL 26 kap. 1 §"),
    "period": st.sampled_from([str(dt.date.today().year), f"{dt.date.today().year}-T1", "2026-H2"]),
    "start": st.just(f"{dt.date.today().year}-01-01"),
    "end": st.just(f"{dt.date.today().year}-12-31"),
}


@pytest.fixture(scope="module", params=SCHEMATHESIS_BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    backend: str = request.param
    tmp: Path = tmp_path_factory.mktemp(f"schemathesis-{backend}")
    admin = None
    if BACKENDS[backend] is None:
        db = f"sqlite:///{tmp / 'klagomal.db'}"
    else:
        admin = sa.create_engine(sa.make_url(server_url(backend)), isolation_level="AUTOCOMMIT")
        name = f"klagomal_st_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        db = admin.url.set(database=name).render_as_string(hide_password=False)
    running = start_server(db, tmp)
    try:
        yield running
    finally:
        stop(running)
        if admin is not None:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            admin.dispose()


def _pool(web: Server) -> list[str]:
    """Cases in several states (:data:`POOL_ROUTINES`), two of each, and a
    protected person's: the references the generated requests use."""
    refs = []
    for routine in POOL_ROUTINES * 2:
        ref = register(web).json()["reference"]
        for step, body in routine:
            done = web.call("POST", f"/api/v1/cases/{ref}/steps/{step}", body, headers={"If-Match": "*"})
            assert done.status == 200, (step, done.body)
        refs.append(ref)
    contact = {"name": "Skyddad Person", "phone": "070-111 22 33", "protected": True}
    refs.append(register(web, contact=contact, unit=HEMTJANST).json()["reference"])
    return refs


def _generate(web: Server, operation: Any, refs: list[str], reached: dict[str, set[int]]) -> None:
    """Send :data:`MAX_EXAMPLES` generated requests of *operation* and check each answer."""
    users = sorted(web.keys)
    takes_reference = "{reference}" in operation.path
    takes_if_match = any(p.name.lower() == "if-match" for p in operation.headers)

    @given(
        case=operation.as_strategy(),
        which=st.integers(0, 9),
        ref=st.sampled_from(refs),
        data=st.data(),
        user=st.sampled_from(users),
        idempotency=st.none() | st.from_regex(r"\A[A-Za-z0-9-]{1,40}\Z"),
    )
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(
        case: Any, which: int, ref: str, data: st.DataObject, user: str, idempotency: str | None
    ) -> None:
        # Mostly the owner, who may do everything; otherwise any user.
        headers = {"Authorization": f"Bearer {web.keys['nora.lind' if which < 5 else user]}"}
        if takes_reference and which < 9:
            case.path_parameters = {**(case.path_parameters or {}), "reference": ref}
        if takes_if_match and which < 8:
            etag = "*"
            if which % 2:
                etag = web.call("GET", f"/api/v1/cases/{ref}", user="nora.lind").headers.get("etag", "*")
            case.headers = {**(case.headers or {}), "If-Match": etag}
        if which < 7:
            if isinstance(case.body, dict):
                case.body = {n: data.draw(VALID[n]) if n in VALID else v for n, v in case.body.items()}
            if case.query:
                case.query = {n: data.draw(VALID[n]) if n in VALID else v for n, v in case.query.items()}
        if idempotency is not None and case.method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency
        response = case.call_and_validate(
            base_url=web.base,
            headers=headers,
            checks=CHECKS,
        )
        reached.setdefault(f"{case.method.upper()} {operation.path}", set()).add(response.status_code)

    check()


def _not_json(web: Server, operation: Any, ref: str) -> int | None:
    """A body that is no JSON to *operation*, if it takes JSON: a 400, as the
    document says errors are sent."""
    if not any(body.media_type == "application/json" for body in operation.body):
        return None
    case = operation.Case(
        path_parameters={"reference": ref} if "{reference}" in operation.path else {},
        headers={"If-Match": "*"},
        body=b'{"text": ',
        media_type="application/octet-stream",
    )
    headers = {"Authorization": f"Bearer {web.keys['nora.lind']}", "Content-Type": "application/json"}
    response = case.call(base_url=web.base, headers=headers)
    case.validate_response(response, checks=CHECKS)
    status: int = response.status_code
    return status


def test_no_generated_request_gets_a_5xx_or_an_answer_unlike_the_document(web: Server) -> None:
    loaded = schemathesis.openapi.from_url(f"{web.base}/api/openapi.json")
    operations = [result.ok() for result in loaded.get_all_operations()]
    document = web.call("GET", "/api/openapi.json", user=None).json()
    # Every operation of the document, none left out.
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert {(op.method.upper(), op.path) for op in operations} == documented
    refs = _pool(web)
    reached: dict[str, set[int]] = {}

    for operation in operations:
        _generate(web, operation, refs, reached)
        assert _not_json(web, operation, refs[0]) in (None, 400), operation.path

    # Not vacuous: the generated requests reached the handlers; most
    # operations answered 200/201 at least once, and none only with the
    # errors in front of a handler (no key, no such case, no If-Match).
    in_front = {401, 404, 428}
    assert all(statuses - in_front for statuses in reached.values()), reached
    succeeded = [name for name, statuses in reached.items() if statuses & {200, 201}]
    assert len(succeeded) >= len(reached) // 2, reached
