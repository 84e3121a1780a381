"""The endpoints of issue 21 beyond the first version, against a real
``klagomal serve`` (tests/test_web_server.py starts it) on SQLite and
PostgreSQL: attachments and photos (multipart upload, list, download),
search, related cases, a person's export (GDPR article 15), webhook
subscriptions and deliveries, and the Swedish reasons of a request of the
wrong form, on every route the application has (R27: as the caller's user
may see it; R30: a photo keeps no metadata).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import io
import json
import urllib.parse
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest
from tests.test_web_server import Answer, Server, audited, is_problem, register, server

from klagomal import Klagomal
from klagomal.cases.amendments import max_document_bytes

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")
from PIL import Image

from klagomal.web.app import create_app

__all__ = ["server"]  # the module's server: tests/test_web_server.py's fixture

#: What a reason of a request of the wrong form never holds: the validator's English.
ENGLISH = ("Expected", "expected", " got ", "Object", "Invalid", "missing", "`")


def upload(
    server: Server,
    ref: str,
    data: bytes,
    filename: str,
    media_type: str = "application/octet-stream",
    *,
    user: str = "omar.ali",
    if_match: str | None = "*",
    field: str = "file",
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST one file as multipart/form-data, as ``curl -F file=@…`` does."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    sent = {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})}
    if if_match is not None:
        sent["If-Match"] = if_match
    return server.call("POST", f"/api/v1/cases/{ref}/attachments", user=user, headers=sent, raw=body)


def photo_with_gps() -> bytes:
    """A JPEG as a phone takes it: with EXIF that says where and with what."""
    image = Image.new("RGB", (32, 24), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "Telefonmakaren"  # Make
    exif[0x0110] = "Modell X"  # Model
    exif[0x8825] = {1: "N", 2: (63.0, 10.0, 45.0), 3: "E", 4: (14.0, 38.0, 8.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"hemma hos Eva")
    return out.getvalue()


# -- attachments and photos ----------------------------------------------------------------


def test_a_photo_is_uploaded_as_a_step_stored_without_its_metadata_and_downloaded(server: Server) -> None:
    ref = register(server).json()["reference"]
    original = photo_with_gps()
    assert b"Exif" in original
    assert b"Telefonmakaren" in original
    # Like every step: If-Match is needed, an old version is refused, nothing is written.
    is_problem(
        upload(server, ref, original, "gatan.jpg", "image/jpeg", if_match=None), 428, "precondition-required"
    )
    is_problem(upload(server, ref, original, "gatan.jpg", "image/jpeg", if_match='"7"'), 412, "conflict")
    assert server.call("GET", f"/api/v1/cases/{ref}/attachments").json() == {"attachments": []}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = upload(server, ref, original, "gatan.jpg", "image/jpeg", if_match='"1"', headers=key)
    assert first.status == 201, first.body
    assert first.headers["etag"] == '"2"'
    assert first.json()["version"] == 2
    again = upload(server, ref, original, "gatan.jpg", "image/jpeg", if_match='"1"', headers=key)
    assert again.status == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body == first.body
    listed = server.call("GET", f"/api/v1/cases/{ref}/attachments").json()["attachments"]
    assert len(listed) == 1  # the retry attached nothing
    (one,) = listed
    assert first.headers["location"] == one["href"] == f"/api/v1/cases/{ref}/attachments/{one['id']}"
    assert (one["filename"], one["content_type"]) == ("gatan.jpg", "image/jpeg")
    got = server.call("GET", one["href"])
    assert got.status == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''gatan.jpg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert len(got.body) == one["size"] < len(original)
    for secret in (b"Exif", b"Telefonmakaren", b"Modell X", b"hemma hos Eva"):
        assert secret not in got.body
    with Image.open(io.BytesIO(got.body)) as image:
        assert image.size == (32, 24)
        assert not image.getexif()
    # The step is in the history, as the library's.
    history = server.call("GET", f"/api/v1/cases/{ref}/history").json()
    assert history["version"] == 2
    assert ("omar.ali", "lasa", "allowed") in audited(server, ref)


def test_a_document_is_uploaded_with_its_type_guessed_from_its_name(server: Server) -> None:
    ref = register(server).json()["reference"]
    text = "Protokoll från mötet med enheten.\n".encode()
    assert upload(server, ref, text, "protokoll.txt").status == 201
    (one,) = server.call("GET", f"/api/v1/cases/{ref}/attachments").json()["attachments"]
    assert one["content_type"] == "text/plain"
    assert server.call("GET", one["href"]).body == text


@pytest.mark.parametrize(
    ("data", "filename", "media_type", "reason"),
    [
        (b"\x00\x00\x00\x18ftypheic" + bytes(64), "IMG_0001.HEIC", "image/heic", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypmif1" + bytes(64), "gatan.jpg", "image/jpeg", "HEIC/HEIF"),
        (b"II*\x00" + bytes(64), "karta.tif", "image/tiff", "typen image/tiff, som inte kan bifogas"),
        (b"MZ\x90\x00" + bytes(64), "virus.pdf", "application/pdf", "är ett program"),
        (b"Hej!\n", "brev.pdf", "application/pdf", "inte en PDF-fil"),
        (b"#!/bin/sh\n", "skript.sh", "application/x-sh", "som inte kan bifogas"),
        (b"", "tom.txt", "text/plain", "är tom"),
        (b"\xff\xd8\xff\xe0 inte en bild", "gatan.jpg", "image/jpeg", "ingen läsbar JPEG-bild"),
    ],
)
def test_a_file_the_library_refuses_gets_a_swedish_reason_and_nothing_is_written(
    server: Server, data: bytes, filename: str, media_type: str, reason: str
) -> None:
    ref = register(server).json()["reference"]
    refused = is_problem(upload(server, ref, data, filename, media_type), 422, "invalid-input")
    assert reason in refused["detail"]
    assert ref in refused["detail"]
    after = server.call("GET", f"/api/v1/cases/{ref}")
    assert after.headers["etag"] == '"1"'
    assert server.call("GET", f"/api/v1/cases/{ref}/attachments").json() == {"attachments": []}


def test_a_file_over_the_limit_is_refused(server: Server) -> None:
    ref = register(server).json()["reference"]
    limit = max_document_bytes()
    refused = is_problem(
        upload(server, ref, b"a" * (limit + 1), "stor.txt", "text/plain"), 422, "invalid-input"
    )
    assert "är för stor" in refused["detail"]
    assert server.call("GET", f"/api/v1/cases/{ref}/attachments").json() == {"attachments": []}


def test_attachments_are_read_as_the_caller_may_see_them(server: Server) -> None:
    ref = register(server).json()["reference"]
    assert upload(server, ref, b"Anteckning\n", "eva-svensson.txt", "text/plain").status == 201
    (one,) = server.call("GET", f"/api/v1/cases/{ref}/attachments").json()["attachments"]
    # Another unit's handler and the reader may neither list nor download, nor attach.
    for user in ("kontaktcenter", "sven.ek"):
        is_problem(server.call("GET", f"/api/v1/cases/{ref}/attachments", user=user), 403, "access-denied")
        is_problem(server.call("GET", one["href"], user=user), 403, "access-denied")
        is_problem(upload(server, ref, b"x\n", "a.txt", "text/plain", user=user), 403, "access-denied")
    is_problem(server.call("GET", f"/api/v1/cases/{ref}/attachments/999999"), 404, "no-such-resource")
    is_problem(server.call("GET", "/api/v1/cases/2026-99999/attachments"), 404, "not-found")
    # A protected person's file names and files only to those who may see who they are.
    protected = register(server, contact={"name": "Eva Svensson", "protected": True}).json()["reference"]
    assert (
        upload(server, protected, b"Brev\n", "eva-svensson.txt", "text/plain", user="nora.lind").status == 201
    )
    (hidden,) = server.call("GET", f"/api/v1/cases/{protected}/attachments").json()["attachments"]
    assert hidden["filename"] != "eva-svensson.txt"
    assert "eva" not in json.dumps(hidden).lower()
    is_problem(server.call("GET", hidden["href"]), 403, "access-denied")
    shown = server.call("GET", hidden["href"], user="nora.lind")
    assert shown.status == 200
    assert shown.body == b"Brev\n"


def test_an_upload_of_the_wrong_form_gets_a_swedish_reason(server: Server) -> None:
    ref = register(server).json()["reference"]
    missing = is_problem(
        upload(server, ref, b"x\n", "a.txt", "text/plain", field="fil"), 422, "invalid-input"
    )
    assert missing["detail"] == "begäran kunde inte läsas: fältet 'file' saknas"
    boundary = uuid.uuid4().hex
    text_part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nbara text\r\n--{boundary}--\r\n'
    ).encode()
    answer = server.call(
        "POST",
        f"/api/v1/cases/{ref}/attachments",
        headers={"If-Match": "*", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        raw=text_part,
    )
    detail = is_problem(answer, 422, "invalid-input")["detail"]
    assert detail == "begäran kunde inte läsas: fältet 'file' ska vara en fil (en del med filnamn), inte text"
    as_json = server.call(
        "POST", f"/api/v1/cases/{ref}/attachments", {"file": "x"}, headers={"If-Match": "*"}
    )
    detail = is_problem(as_json, 400, "bad-request")["detail"]
    assert detail == (
        "begärans innehåll ska vara multipart/form-data med filen i fältet 'file' "
        "(till exempel curl -F file=@bild.jpg)"
    )
    assert server.call("GET", f"/api/v1/cases/{ref}").headers["etag"] == '"1"'


# -- search, related cases, a person's export --------------------------------------------------


def test_search_finds_what_the_caller_may_read(server: Server) -> None:
    word = f"cykelställ{uuid.uuid4().hex[:6]}"
    ref = register(server, text=f"Vårt {word} vid entrén är trasigt.").json()["reference"]
    word = urllib.parse.quote(word)
    found = server.call("GET", f"/api/v1/search?q={word}").json()["found"]
    assert [f["reference"] for f in found] == [ref]
    assert urllib.parse.unquote(word) in found[0]["snippet"]
    assert found[0]["case"]["reference"] == ref
    # The contact centre may register for the unit but not read its cases.
    assert server.call("GET", f"/api/v1/search?q={word}", user="kontaktcenter").json() == {"found": []}
    is_problem(server.call("GET", f"/api/v1/search?q={word}", user="sven.ek"), 403, "access-denied")
    assert server.call("GET", f"/api/v1/search?q={word}&unit=sbf-va").json() == {"found": []}
    missing = is_problem(server.call("GET", "/api/v1/search"), 422, "invalid-input")
    assert missing["detail"] == "begäran kunde inte läsas: parametern 'q' saknas"


def test_related_cases_are_those_of_the_same_person(server: Server) -> None:
    email = f"eva.{uuid.uuid4().hex[:8]}@example.se"
    first = register(server, contact={"name": "Eva Svensson", "email": email}).json()["reference"]
    second = register(server, contact={"name": "Eva Svensson", "email": email}, text="Igen.").json()[
        "reference"
    ]
    related = server.call("GET", f"/api/v1/cases/{second}/related").json()
    assert related["reference"] == second
    same = {c["reference"]: c for c in related["same_person"]}
    assert first in same
    assert same[first]["why"] == "samma e-postadress"
    assert same[first]["matched"] == ["email"]
    is_problem(
        server.call("GET", f"/api/v1/cases/{second}/related", user="kontaktcenter"), 403, "access-denied"
    )
    is_problem(server.call("GET", "/api/v1/cases/2026-99999/related"), 404, "not-found")


def test_a_persons_export_is_for_the_roles_the_library_allows(server: Server) -> None:
    email = f"eva.{uuid.uuid4().hex[:8]}@example.se"
    ref = register(server, contact={"name": "Eva Svensson", "email": email}).json()["reference"]
    for user in ("nora.lind", "kim.berg"):
        answer = server.call("POST", "/api/v1/person-export", {"email": email}, user=user)
        assert answer.status == 200, (user, answer.body)
        assert ref in answer.body.decode()
        assert email in answer.body.decode()
    for user in ("omar.ali", "lena.holm", "kontaktcenter", "sven.ek"):
        refused = is_problem(
            server.call("POST", "/api/v1/person-export", {"email": email}, user=user), 403, "access-denied"
        )
        assert email not in refused["detail"]
    empty = is_problem(
        server.call("POST", "/api/v1/person-export", {}, user="nora.lind"), 422, "invalid-input"
    )
    assert "ange personens e-postadress" in empty["detail"]
    bad = server.call("POST", "/api/v1/person-export", {"personnummer": "19121212-1213"}, user="nora.lind")
    assert "personnumret är ogiltigt" in is_problem(bad, 422, "invalid-input")["detail"]
    entries = audited(server, ref)
    assert ("kim.berg", "personuppgifter", "allowed") in entries
    assert ("nora.lind", "personuppgifter", "allowed") in entries


# -- webhooks ---------------------------------------------------------------------------------


def test_webhooks_are_subscribed_listed_and_removed_through_the_library(server: Server) -> None:
    url = f"http://127.0.0.1:9/hook/{uuid.uuid4().hex[:8]}"
    body = {"url": url, "user": "omar.ali", "events": None}
    # Only the system owner manages subscriptions.
    for user in ("omar.ali", "kim.berg", "sven.ek"):
        is_problem(server.call("POST", "/api/v1/webhooks", body, user=user), 403, "access-denied")
        is_problem(server.call("GET", "/api/v1/webhooks", user=user), 403, "access-denied")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    made = server.call("POST", "/api/v1/webhooks", body, user="nora.lind", headers=key)
    assert made.status == 201, made.body
    sub = made.json()
    assert sub["secret"].startswith("whsec_")
    assert made.headers["location"] == f"/api/v1/webhooks/{sub['id']}"
    again = server.call("POST", "/api/v1/webhooks", body, user="nora.lind", headers=key)
    assert again.body == made.body  # one subscription, the same secret
    listed = server.call("GET", "/api/v1/webhooks", user="nora.lind").json()["webhooks"]
    assert [s["url"] for s in listed].count(url) == 1
    assert all("secret" not in s for s in listed)
    bad = server.call("POST", "/api/v1/webhooks", {**body, "user": "okand"}, user="nora.lind")
    assert "okänd användare 'okand'" in is_problem(bad, 422, "invalid-input")["detail"]
    # An event for the subscription's user: a delivery, visible to those who deliver.
    ref = register(server).json()["reference"]
    is_problem(server.call("GET", "/api/v1/webhooks/deliveries", user="omar.ali"), 403, "access-denied")
    path = f"/api/v1/webhooks/deliveries?subscription={sub['id']}"
    deliveries = server.call("GET", path, user="kim.berg").json()["deliveries"]
    assert [d["reference"] for d in deliveries] == [ref]
    assert deliveries[0]["status"] == "pending"
    refused = server.call(
        "POST", "/api/v1/webhooks/deliveries/retry", {"ids": [deliveries[0]["id"]]}, user="kim.berg"
    )
    assert "bara misslyckade" in is_problem(refused, 422, "invalid-input")["detail"]
    # Removed: its pending delivery fails with the reason, and may be queued again.
    removed = server.call("DELETE", f"/api/v1/webhooks/{sub['id']}", user="nora.lind")
    assert removed.status == 200
    assert removed.json()["removed_at"] is not None
    assert url not in [
        s["url"] for s in server.call("GET", "/api/v1/webhooks", user="nora.lind").json()["webhooks"]
    ]
    (failed,) = server.call("GET", path + "&status=failed", user="kim.berg").json()["deliveries"]
    assert failed["last_error"] == "prenumerationen togs bort"
    queued = server.call(
        "POST", "/api/v1/webhooks/deliveries/retry", {"ids": [failed["id"]]}, user="kim.berg"
    )
    assert queued.status == 200, queued.body
    assert [d["status"] for d in queued.json()["queued"]] == ["pending"]
    gone = server.call("DELETE", "/api/v1/webhooks/999999", user="nora.lind")
    assert "det finns ingen webhook 999999" in is_problem(gone, 422, "invalid-input")["detail"]
    unknown = server.call("GET", "/api/v1/webhooks/deliveries?status=borta", user="kim.berg")
    assert is_problem(unknown, 422, "invalid-input")["detail"] == (
        "begäran kunde inte läsas: parametern 'status' har ett okänt värde 'borta'"
    )


def test_an_id_no_row_can_have_is_not_found_on_every_backend(server: Server) -> None:
    """Ids beyond a 32-bit key (which PostgreSQL refuses to compare and
    SQLite cannot bind) find nothing, as an unknown id does: found by
    schemathesis as 5xx."""
    huge = 2**63
    ref = register(server).json()["reference"]
    is_problem(
        server.call("GET", f"/api/v1/cases/{ref}/attachments/{2**31}", user="nora.lind"),
        404,
        "no-such-resource",
    )
    is_problem(
        server.call("GET", f"/api/v1/cases/{ref}/attachments/{huge}", user="nora.lind"),
        404,
        "no-such-resource",
    )
    gone = server.call("DELETE", f"/api/v1/webhooks/{2**31}", user="nora.lind")
    assert f"det finns ingen webhook {2**31}" in is_problem(gone, 422, "invalid-input")["detail"]
    retried = server.call("POST", "/api/v1/webhooks/deliveries/retry", {"ids": [2**40]}, user="kim.berg")
    assert f"ingen webbhook-leverans {2**40}" in is_problem(retried, 422, "invalid-input")["detail"]
    listed = server.call("GET", f"/api/v1/webhooks/deliveries?subscription={2**40}", user="kim.berg")
    assert listed.status == 200
    assert listed.json() == {"deliveries": []}


# -- the Swedish reasons of a request of the wrong form, on every route ----------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _types(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The JSON types *schema* allows (``date`` for a date string)."""
    schema = _resolve(document, schema)
    found: set[str] = set()
    for member in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= _types(document, member)
    kind = schema.get("type")
    for one in [kind] if isinstance(kind, str) else kind or []:
        found.add("date" if one == "string" and schema.get("format") == "date" else one)
    if "enum" in schema or "const" in schema:
        found.add("enum")
    if "properties" in schema:
        found.add("object")
    return found


#: A valid-looking value of each JSON type, and one of another type.
_SAMPLE = {
    "string": "x",
    "date": "2026-01-05",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


def _sample(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    resolved = _resolve(document, schema)
    if "enum" in resolved:
        return resolved["enum"][0]
    for member in resolved.get("oneOf", []):
        if _resolve(document, member).get("type") != "null":
            return _sample(document, member)
    kinds = _types(document, resolved) - {"null", "enum"}
    return _SAMPLE[sorted(kinds)[0]] if kinds else None


def _wrong(types: set[str]) -> tuple[Any, str]:
    """A value of none of *types*, and the Swedish reason expected of it."""
    if "date" in types:
        return "igår", "ska vara ett datum"
    if "enum" in types and "string" not in types:
        return 4711, "ska vara"
    for value, kind, said in (
        ("x", "string", "inte text"),
        (4711, "integer", "inte ett heltal"),
        ([1], "array", "inte en lista"),
    ):
        if kind not in types and not (kind == "integer" and "number" in types):
            return value, said
    return {"a": 1}, "inte ett objekt"


def _json_posts(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every POST of the application with a JSON body, read from its routes."""
    app = create_app(Klagomal("sqlite://", load_entrypoints=False))
    routes = {
        route.path.replace(":str", "").replace(":int", "")
        for route in app.routes
        if route.path.startswith("/api/v1") and "POST" in getattr(route, "methods", ())
    }
    posts = []
    for path in sorted(routes):
        content = document["paths"][path]["post"].get("requestBody", {}).get("content", {})
        if "application/json" in content:
            posts.append((path, _resolve(document, content["application/json"]["schema"])))
    return posts


def _reason_of(answer: Answer) -> str:
    problem = is_problem(answer, 422, "invalid-input")
    detail: str = problem["detail"]
    assert detail.startswith("begäran kunde inte läsas: "), detail
    assert not any(word in detail for word in ENGLISH), detail
    return detail


def test_every_json_post_names_the_field_and_the_reason_in_swedish(
    server: Server, document: dict[str, Any]
) -> None:
    posts = _json_posts(document)
    assert len(posts) >= 25  # register, every step, the webhooks, the person's export
    headers = {"If-Match": "*"}
    seen_forms: set[str] = set()
    for path, schema in posts:
        url = path.replace("{reference}", "2026-99999")
        properties: dict[str, Any] = schema.get("properties", {})
        required: list[str] = schema.get("required", [])
        base = {name: _sample(document, properties[name]) for name in required}
        # Not an object at all.
        for body, said in (([], "inte en lista"), ("text", "inte text"), (7, "inte ett heltal")):
            detail = _reason_of(server.call("POST", url, body, user="nora.lind", headers=headers))
            assert detail == f"begäran kunde inte läsas: begärans innehåll ska vara ett objekt, {said}", path
            seen_forms.add("not-object")
        # Each required field left out.
        for name in required:
            body = {k: v for k, v in base.items() if k != name}
            detail = _reason_of(server.call("POST", url, body, user="nora.lind", headers=headers))
            assert detail == f"begäran kunde inte läsas: fältet '{name}' saknas", (path, detail)
            seen_forms.add("missing")
        # Each field of the wrong type.
        for name, field_schema in properties.items():
            types = _types(document, field_schema)
            value, said = _wrong(types)
            answer = server.call("POST", url, {**base, name: value}, user="nora.lind", headers=headers)
            detail = _reason_of(answer)
            assert f"fältet '{name}" in detail, (path, name, detail)
            assert said in detail, (path, name, detail)
            seen_forms.add(said)
    assert {"not-object", "missing", "inte ett heltal", "inte text", "ska vara ett datum"} <= seen_forms


def test_every_query_parameter_of_the_wrong_form_gets_a_swedish_reason(
    server: Server, document: dict[str, Any]
) -> None:
    checked = 0
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None or not path.startswith("/api/v1"):
            continue
        url = path.replace("{reference}", "2026-99999").replace("{attachment_id}", "1")
        url = url.replace("{subscription_id}", "1")
        params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        given = {p["name"]: _sample(document, p["schema"]) for p in params if p.get("required")}
        for parameter in params:
            types = _types(document, parameter["schema"])
            name = parameter["name"]
            if parameter.get("required"):
                rest = "&".join(f"{k}={v}" for k, v in given.items() if k != name)
                detail = _reason_of(server.call("GET", f"{url}?{rest}", user="nora.lind"))
                assert detail == f"begäran kunde inte läsas: parametern '{name}' saknas", (path, detail)
                checked += 1
            if types & {"integer", "boolean", "date", "enum"} and "string" not in types:
                query = "&".join([*(f"{k}={v}" for k, v in given.items() if k != name), f"{name}=fel"])
                detail = _reason_of(server.call("GET", f"{url}?{query}", user="nora.lind"))
                assert f"parametern '{name}'" in detail, (path, detail)
                checked += 1
            minimum = _resolve(document, parameter["schema"]).get("minimum")
            if minimum is None:
                minimum = next(
                    (m["minimum"] for m in parameter["schema"].get("oneOf", []) if "minimum" in m), None
                )
            if minimum is not None:
                query = "&".join(
                    [*(f"{k}={v}" for k, v in given.items() if k != name), f"{name}={minimum - 1}"]
                )
                detail = _reason_of(server.call("GET", f"{url}?{query}", user="nora.lind"))
                assert f"parametern '{name}' ska vara ett heltal, minst {int(minimum)}" in detail, (
                    path,
                    detail,
                )
                checked += 1
    assert checked >= 10


class _Colour(enum.Enum):
    RED = "red"


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    a: int


#: Every form of msgspec's validation messages: a type and a value it refuses.
MSGSPEC_FORMS: list[tuple[Any, Any]] = [
    (int, "x"),
    (str | None, 1),
    (list[int], [1, "x"]),
    (Annotated[int, msgspec.Meta(ge=1)], 0),
    (Annotated[int, msgspec.Meta(gt=1)], 1),
    (Annotated[int, msgspec.Meta(le=1)], 2),
    (Annotated[int, msgspec.Meta(lt=1)], 1),
    (Annotated[str, msgspec.Meta(min_length=2)], "a"),
    (Annotated[str, msgspec.Meta(max_length=2)], "abc"),
    (Annotated[list[int], msgspec.Meta(min_length=2)], [1]),
    (Annotated[str, msgspec.Meta(pattern="^[a-z]+$")], "1"),
    (Annotated[float, msgspec.Meta(multiple_of=2)], 3.0),
    (tuple[int, int], [1]),
    (dt.date, "igår"),
    (dt.datetime, "igår"),
    (dt.time, "x"),
    (dt.timedelta, "x"),
    (Annotated[dt.datetime, msgspec.Meta(tz=True)], "2026-01-01T00:00:00"),
    (Annotated[dt.datetime, msgspec.Meta(tz=False)], "2026-01-01T00:00:00Z"),
    (uuid.UUID, "x"),
    (decimal.Decimal, "x"),
    (bytes, "!"),
    (_Colour, "blue"),
    (Literal[1, 2], 3),
    (_Strict, {}),
    (_Strict, {"a": 1, "b": 2}),
]


@pytest.mark.parametrize(("kind", "value"), MSGSPEC_FORMS)
def test_every_form_of_msgspecs_messages_has_a_swedish_reason(kind: Any, value: Any) -> None:
    from litestar.exceptions import ValidationException

    from klagomal.web.problems import validation_parts

    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert(value, kind, strict=False)
    message = str(refused.value)
    (part,) = validation_parts(
        ValidationException(extra=[{"message": message, "key": "x", "source": "body"}])
    )
    assert part.startswith("fältet 'x"), (message, part)
    assert not any(word in part for word in ENGLISH), (message, part)
    if "regex" not in message:
        assert not part.endswith("har fel form"), message  # a reason of its own, not the fallback
