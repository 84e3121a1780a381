"""The baseline of bench/api.py: klagomal's own SQL, run directly.

A bare Litestar application that answers the benchmark's three requests by
running, statement for statement and transaction for transaction, the SQL
that klagomal's HTTP API runs for them.  bench/api.py captures that SQL
from klagomal itself when the run starts (:func:`api.capture_sql`: one
request of each kind through the real application, in-process) and hands
it over in the file ``BENCH_SQL``; this module checks that it has the shape
it was written for and refuses to start otherwise, so a change in
klagomal's SQL cannot leave the baseline measuring something else.

Per request, on a database klagomal made (the same schema and indexes):

* the API key's look-up, in a REPEATABLE READ transaction of its own;
* a case read: the case's row and its dimensions, and an entry in the
  audit log (its head row locked, the entry inserted, the head moved);
* a worklist: the user's own open cases, the unit's unassigned ones in
  klagomal's order with klagomal's limit, their dimensions, and the
  audit entry;
* a registration: the ``Idempotency-Key``'s look-up; then in one
  transaction the reference counter, the key's claim (in a savepoint), the
  case's row, its event, the webhook subscriptions, the search document and
  the audit entry; then the answer kept under the key.

What it leaves out is everything klagomal does in Python: access checks,
rules, routing, deadlines, redaction, the chain's hash as klagomal computes
it (a SHA-256 of the same length is stored), the JSON of a case as klagomal
builds it (the row's columns are sent instead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException

#: One request of each kind: its transactions, each a list of (SQL, values).
Captured = dict[str, list[list[tuple[str, dict[str, Any]]]]]

#: The statements each kind of request runs, by the start of their text:
#: what this module was written for.
SHAPES: dict[str, list[list[str]]] = {
    "read": [
        ["SELECT api_keys."],
        [
            "SELECT cases.",
            "SELECT case_dimensions.dimension",
            "SELECT audit_head.",
            "INSERT INTO audit_log",
            "UPDATE audit_head",
        ],
    ],
    "worklist": [
        ["SELECT api_keys."],
        [
            "SELECT cases.",
            "SELECT cases.",
            "SELECT case_dimensions.reference",
            "SELECT audit_head.",
            "INSERT INTO audit_log",
            "UPDATE audit_head",
        ],
    ],
    "register": [
        ["SELECT api_keys."],
        ["SELECT idempotency_keys."],
        [
            "UPDATE reference_counters",
            "SELECT reference_counters.",
            "DELETE FROM idempotency_keys",
            "SAVEPOINT",
            "INSERT INTO idempotency_keys",
            "RELEASE SAVEPOINT",
            "INSERT INTO cases",
            "INSERT INTO events",
            "SELECT webhook_subscriptions.",
            "DELETE FROM search_documents",
            "INSERT INTO search_documents",
            "SELECT audit_head.",
            "INSERT INTO audit_log",
            "UPDATE audit_head",
        ],
        ["DELETE FROM idempotency_keys", "UPDATE idempotency_keys"],
    ],
}


def check_shape(captured: Captured) -> None:
    """Refuse SQL of another shape than :data:`SHAPES` (klagomal changed)."""
    for kind, expected in SHAPES.items():
        got = captured.get(kind, [])
        same = len(got) == len(expected) and all(
            len(statements) == len(starts)
            and all(sql.startswith(start) for (sql, _values), start in zip(statements, starts, strict=True))
            for statements, starts in zip(got, expected, strict=True)
        )
        if not same:
            raise SystemExit(
                f"bench/api_baseline.py: klagomal's SQL for a {kind} is no longer what the baseline runs;"
                f" captured {[[sql[:40] for sql, _values in statements] for statements in got]}"
            )


class Statements:
    """The captured SQL, by what each statement does, and the values
    that are the same in every request (the worklist's filters, the audit
    head's id, the columns of a new case that this run does not vary)."""

    def __init__(self, captured: Captured) -> None:
        check_shape(captured)
        ((self.key, _),) = captured["read"][0]
        (self.case, _), (self.dims, _), (self.head, self.head_values), (self.audit, _), (self.move, _) = (
            captured["read"][1]
        )
        (self.own, self.own_values), (self.unassigned, self.unassigned_values), (self.page_dims, _), *_a = (
            captured["worklist"][1]
        )
        ((self.find_key, _),) = captured["register"][1]
        (
            (self.count, self.count_values),
            (self.counted, self.counted_values),
            (self.drop_old_key, _),
            _savepoint,
            (self.claim, _),
            _release,
            (self.insert_case, self.case_values),
            (self.insert_event, self.event_values),
            (self.hooks, _),
            (self.drop_document, _),
            (self.insert_document, _),
            *_b,
        ) = captured["register"][2]
        (self.purge, _), (self.keep, _) = captured["register"][3]


#: Set by :func:`create_app`, from the files the environment names.
SQL: Statements
engine: sa.Engine

#: How long an Idempotency-Key's answer is kept (klagomal: a day).
KEPT = dt.timedelta(days=1)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="klagomal"'}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def key_user(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The user and the key's hash of the request's API key, or a 401."""
    scheme, _sep, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(status_code=401, headers=_CHALLENGE)
    hashed = sha256(key.strip())
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            row = conn.exec_driver_sql(SQL.key, {"hash": hashed}).first()
    if row is None or row.revoked is not None:
        raise HTTPException(status_code=401, headers=_CHALLENGE)
    return row.user_id, hashed


def audit(conn: sa.Connection, user: str, action: str, reference: str | None, detail: str) -> None:
    """An entry in the audit log, chained under the head's lock, as klagomal writes it."""
    head = conn.exec_driver_sql(SQL.head, SQL.head_values).one()
    new_id = head.last_id + 1
    at = utcnow()
    new_hash = sha256(
        f"{head.last_hash}\0{new_id}\0{at.isoformat()}\0{user}\0{action}\0{reference}\0{detail}"
    )
    conn.exec_driver_sql(
        SQL.audit,
        {
            "id": new_id,
            "at": at,
            "user_id": user,
            "role": "handlaggare",
            "action": action,
            "outcome": "allowed",
            "reference": reference,
            "detail": detail,
            "prev_hash": head.last_hash,
            "hash": new_hash,
        },
    )
    moved = conn.exec_driver_sql(
        SQL.move,
        {"new_id": new_id, "new_hash": new_hash, "id_1": SQL.head_values["id_1"], "read_id": head.last_id},
    )
    assert moved.rowcount == 1


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def case_json(row: Any, dimensions: list[str]) -> dict[str, Any]:
    return {**{name: plain(value) for name, value in row.items()}, "dimensions": dimensions}


@get("/cases/{reference:str}", sync_to_thread=True)
def read(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    user, _hashed = key_user(request)
    with engine.begin() as conn:
        row = conn.exec_driver_sql(SQL.case, {"reference": reference}).mappings().one_or_none()
        if row is None:
            raise HTTPException(status_code=404)
        dimensions = list(conn.exec_driver_sql(SQL.dims, {"reference": reference}).scalars())
        audit(conn, user, "lasa", reference, "case")
    return Response(case_json(row, dimensions), headers={"ETag": f'"{row["version"]}"'})


@get("/worklist", sync_to_thread=True)
def worklist(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user, _hashed = key_user(request)
    with engine.begin() as conn:
        own = conn.exec_driver_sql(SQL.own, SQL.own_values).mappings().all()
        unassigned = conn.exec_driver_sql(SQL.unassigned, SQL.unassigned_values).mappings().all()
        rows = [*own, *unassigned]
        references = [row["reference"] for row in rows]
        dimensions: dict[str, list[str]] = {}
        for reference, dimension in conn.exec_driver_sql(SQL.page_dims, {"references": references}):
            dimensions.setdefault(reference, []).append(dimension)
        page = rows[:100]
        shown = sorted(row["reference"] for row in page)
        audit(conn, user, "lista", None, f"worklist ({len(shown)}): " + " ".join(shown))
    return {
        "worklist": [
            {
                "reference": row["reference"],
                "kind": row["kind"],
                "unit": row["unit"],
                "state": row["state"],
                "handler": row["handler"],
                "due": row["acknowledge_by"].isoformat(),
                "dimensions": dimensions.get(row["reference"], []),
                "version": row["version"],
            }
            for row in page
        ],
        "next": "MTAw" if len(rows) > 100 else None,
    }


@post("/cases", status_code=201, sync_to_thread=True)
def register(request: Request[Any, Any, Any], data: dict[str, Any]) -> Response[Any]:
    user, hashed = key_user(request)
    key = request.headers.get("idempotency-key", "")
    scope = sha256(f"{user}\0{hashed}")
    asked = sha256(json.dumps(data, sort_keys=True))
    since = utcnow() - KEPT
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            found = (
                conn.exec_driver_sql(SQL.find_key, {"scope_1": scope, "key_1": key, "created_1": since})
                .mappings()
                .first()
            )
    if found is not None:
        if found["status"] is None:
            raise HTTPException(status_code=409, headers={"Retry-After": "1"})
        return Response(
            bytes(found["body"]),
            status_code=found["status"],
            headers={**json.loads(found["headers"]), "Idempotent-Replayed": "true"},
        )
    today = dt.date.today()
    with engine.begin() as conn:
        conn.exec_driver_sql(SQL.count, SQL.count_values)
        last = conn.exec_driver_sql(SQL.counted, SQL.counted_values).scalar_one()
        reference = f"{SQL.counted_values['year_1']}-{last:05d}"
        conn.exec_driver_sql(SQL.drop_old_key, {"scope_1": scope, "key_1": key, "created_1": since})
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(
                    SQL.claim,
                    {
                        "scope": scope,
                        "key": key,
                        "request": asked,
                        "headers": json.dumps({"reference": reference, "version": 1}),
                        "created": utcnow(),
                    },
                )
        except sa.exc.IntegrityError:
            raise HTTPException(status_code=409, headers={"Retry-After": "1"}) from None
        values = {
            **SQL.case_values,
            "reference": reference,
            "text": data["text"],
            "unit": data["unit"],
            "received": today,
            "registered": today,
            "updated": today,
        }
        conn.exec_driver_sql(SQL.insert_case, values)
        payload = {**json.loads(SQL.event_values["payload"]), "text": data["text"], "unit": data["unit"]}
        conn.exec_driver_sql(
            SQL.insert_event,
            {
                **SQL.event_values,
                "reference": reference,
                "day": today,
                "recorded_at": utcnow(),
                "actor": user,
                "payload": json.dumps(payload),
            },
        ).scalar_one()
        list(conn.exec_driver_sql(SQL.hooks))
        conn.exec_driver_sql(SQL.drop_document, {"reference_1": reference})
        body_words = " ".join(reference.replace("-", " ").split() + data["text"].lower().split())
        conn.exec_driver_sql(
            SQL.insert_document,
            {"reference": reference, "protected": False, "secret": False, "body": body_words},
        ).scalar_one()
        audit(conn, user, "registrera", reference, "1 registered")
    answer = json.dumps(case_json(values, [])).encode()
    headers = {"etag": '"1"', "location": f"/api/v1/cases/{reference}", "content-type": "application/json"}
    with engine.begin() as conn:
        conn.exec_driver_sql(SQL.purge, {"created_1": since})
        conn.exec_driver_sql(
            SQL.keep,
            {
                "status": 201,
                "headers": json.dumps(headers),
                "body": answer,
                "scope_1": scope,
                "key_1": key,
                "request_1": asked,
            },
        )
    return Response(answer, status_code=201, headers=headers)


def create_app() -> Litestar:
    """The baseline on ``BENCH_DB``, running the SQL in the file ``BENCH_SQL``."""
    global SQL, engine
    SQL = Statements(pickle.loads(Path(os.environ["BENCH_SQL"]).read_bytes()))
    engine = sa.create_engine(os.environ["BENCH_DB"])
    return Litestar([register, read, worklist], path="/api/v1")
