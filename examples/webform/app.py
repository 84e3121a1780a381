"""The web form "Tala om vad du tycker" as a small Flask application.

An example of :mod:`klagomal.intake.webform` in a web framework, not a
production service: see README.md in this folder for what a kommun's web
platform must add (CSRF protection, rate limiting, TLS).  Run it with::

    flask --app examples/webform/app.py run
    python examples/webform/app.py

The database is ``$KLAGOMAL_DB`` (default ``sqlite:///klagomal.db``) and the
organisation ``$KLAGOMAL_ORG`` (default Exempelkommun), as for the CLI.

A person never waits long for the page: when the database is busy (another
transaction holds a lock), the registration gives up after
``webform.LOCK_WAIT`` seconds and the form comes back, with status 503,
``Retry-After`` and everything the person wrote, asking them to try again.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from flask import Flask, render_template, request
from werkzeug.datastructures import MultiDict

from klagomal import (
    DEFAULT_DB,
    InvalidInputError,
    Klagomal,
    Organisation,
    TransientStorageError,
    load_organisation,
)
from klagomal.core.formats import number
from klagomal.core.i18n import _
from klagomal.intake import webform

HERE = Path(__file__).resolve().parent


def create_app(
    db_url: str | None = None,
    organisation: Organisation | None = None,
    *,
    fallback_unit: str | None = None,
    plugins: Iterable[object] = (),
    load_entrypoints: bool = True,
    user: str | None = None,
) -> Flask:
    """The application, on the database *db_url* (created or upgraded at
    start).  Feedback that names no unit goes to *fallback_unit*, by default
    the organisation file's ``[intag] enhet``, else the system owner's
    förvaltning (R24), which forwards it (R12).

    The form registers on behalf of the public, so it acts as *user*, by
    default ``KLAGOMAL_USER`` or else ``system``, klagomal itself; a kommun
    may give it a user of its own with the role ``handlaggare``."""
    db_url = db_url or os.environ.get("KLAGOMAL_DB") or DEFAULT_DB
    if organisation is None and os.environ.get("KLAGOMAL_ORG"):
        organisation = load_organisation(os.environ["KLAGOMAL_ORG"])
    k = Klagomal(
        db_url,
        organisation=organisation,
        plugins=plugins,
        load_entrypoints=load_entrypoints,
        user=user or os.environ.get("KLAGOMAL_USER") or "system",
        # A person is waiting for every page that touches the database.
        lock_wait=webform.LOCK_WAIT,
    )
    k.init()
    org = k.organisation
    fallback = fallback_unit or org.intake.unit or org.system_owner
    schema = webform.form_schema(org, k)
    # The contact details as one fieldset, the other fields on their own.
    sections = [
        (group, list(fields)) for group, fields in itertools.groupby(schema["fields"], lambda f: f["group"])
    ]

    app = Flask(__name__, root_path=str(HERE), template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # the form is text: 5 000 characters and a few fields
    app.jinja_env.globals.update(_=_, checked=webform.checked)
    app.jinja_env.filters["antal"] = number  # 5 000, as every page and letter writes it
    app.extensions["klagomal"] = k

    def form_page(
        values: Mapping[str, str],
        messages: Mapping[str, str],
        *,
        status: int = 200,
        problem: str = "",
        busy: bool = False,
    ) -> tuple[str, int, dict[str, str]]:
        show_anonymous = schema["anonymous_allowed"] or bool(schema["anonymous_units"])
        page = render_template(
            "form.html",
            schema=schema,
            sections=sections,
            groups=schema["groups"],
            values=values,
            messages=messages,
            problem=problem,
            busy=busy,
            busy_text=webform.BUSY_TEXT,
            show_anonymous=show_anonymous,
            consent=schema["consent_text"].split("\n\n"),
        )
        # Busy: the browser may send the same form again in a while.
        headers = {"Retry-After": str(webform.RETRY_AFTER)} if busy else {}
        return page, status, headers

    @app.get("/")
    def show() -> tuple[str, int, dict[str, str]]:
        return form_page({}, {})

    @app.post("/")
    def submit() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
        data: MultiDict[str, str] = request.form
        # The answer the person chose, as the unit it routes to ("Vet inte": the fallback).
        unit = webform.chosen_unit(org, data.get("enhet", "").strip()) or fallback
        result = webform.validate_form(
            data.to_dict(flat=False),
            org,
            allow_anonymous=webform.anonymous_allowed(k, unit),
            today=k.clock.today(),
        )
        if isinstance(result, webform.FormErrors):
            if result.spam:
                # A robot: the same thanks as a person gets, and nothing stored.
                return render_template("thanks.html", title=webform.RECEIPT_TITLE, receipt=None), 200
            return form_page(result.values, result.messages, status=422)
        # What the person wrote, for the form again if it cannot be registered.
        written = webform.form_values(data.to_dict(flat=False))
        try:
            registered = webform.register_submission(k, result, fallback_unit=fallback)
        except InvalidInputError as exc:
            return form_page(written, {}, status=422, problem=exc.reason)
        except TransientStorageError:
            # The database was busy and nothing was stored.
            return form_page(written, {}, status=503, busy=True)
        # The receipt: the reference, the day received, what happens next and by when,
        # and the private "Följ ditt ärende" link (with KLAGOMAL_PUBLIC_URL set).
        receipt = webform.receipt(registered)
        return render_template("thanks.html", title=webform.RECEIPT_TITLE, receipt=receipt), 200

    return app


if __name__ == "__main__":
    create_app().run()
