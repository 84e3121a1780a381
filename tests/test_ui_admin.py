"""The administration pages of the web interface (klagomal.web.ui.admin):
the reports with their CSV, the register list, the failed and uncertain
notices, the quarantine, the audit log and the plugins.

A real ``klagomal serve`` process on a database seeded here through the
library, driven by Debian's chromium; axe-core checks every page in every
state; the steps are read back through the library.  The steps the pages
take (requeue, release, mark as no case) run on SQLite, PostgreSQL and
MariaDB.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from conftest import register_case
from klagomal import Klagomal, hookimpl
from klagomal.core.errors import DeliveryError, DeliveryUncertainError
from klagomal.core.model import Contact
from klagomal.core.organisation import default_organisation
from klagomal.core.users import SYSTEM_USER, Role
from klagomal.notices.notifiers import Message, Notifier
from klagomal.records.access import PERMISSIONS
from klagomal.reports.data import build_report
from klagomal.reports.periods import parse_period
from klagomal.reports.render import render_csv
from klagomal.web.ui import admin
from test_intake import mail
from ui_support import UiServer, assert_accessible, browser, login, require_browser, served

#: The register list's extra cases: more than a page of it.
EXTRA_CASES = admin.REGISTER_ROWS + 3


class Failing:
    """A notifier plugin that fails each notice as it is told (``outcomes``,
    consumed one per call), the ways a real notifier can."""

    def __init__(self) -> None:
        self.outcomes: list[Exception] = []
        self.lock = threading.Lock()

    @hookimpl
    def klagomal_notifiers(self) -> Iterator[Notifier]:
        yield Notifier("inspelning", "Inspelning (test)", deliver=self.deliver)

    def deliver(self, message: Message) -> None:
        with self.lock:
            if self.outcomes:
                raise self.outcomes.pop(0)


@attrs.frozen
class Seeded:
    failed_ref: str
    uncertain_ref: str
    other_ref: str  # in sbf: outside kim.berg's förvaltning
    release_id: int
    dismiss_id: int
    failed_notice: int
    uncertain_notice: int


def _seeding(db: str) -> tuple[Klagomal, Failing]:
    failing = Failing()
    org = default_organisation()
    org = attrs.evolve(
        org, delivery=attrs.evolve(org.delivery, email_notifier="inspelning", letter_notifier="inspelning")
    )
    k = Klagomal(db, organisation=org, plugins=[failing], load_entrypoints=False)
    k.init()
    return k.as_user("nora.lind"), failing


def seed(db: str, *, extra_cases: int = 0) -> Seeded:
    """Cases with a failed and an uncertain notice, one outside soc, two
    messages in quarantine, and *extra_cases* more cases."""
    k, failing = _seeding(db)
    try:
        due = k.clock.today() + dt.timedelta(days=30)
        eva = Contact(name="Eva Åström", email="eva.astrom@example.se")
        failed = register_case(k, contact=eva).reference
        uncertain = register_case(k, contact=eva, text="Maten var kall.").reference
        other = register_case(k, contact=eva, unit="sbf-gatapark-gata", text="Trasig gatlykta.").reference
        for ref, error in (
            (failed, DeliveryError("ogiltig e-postadress", permanent=True)),
            (uncertain, DeliveryUncertainError("anslutningen bröts under DATA")),
            (other, DeliveryError("brevlådan finns inte", permanent=True)),
        ):
            k.acknowledge(ref, "Hanna Lind", due)
            failing.outcomes = [error] * 5
            k.deliver(reference=ref)
        failing.outcomes = []
        notices = {n.reference: n for n in k.outbox(statuses=("failed", "uncertain"))}
        assert (notices[failed].status, notices[uncertain].status) == ("failed", "uncertain")
        for text, sender, ref in (
            ("Jag är granne och såg det också.", "Okänd Granne <granne@example.net>", failed),
            ("Köp billiga klockor!", "Reklam <reklam@example.net>", uncertain),
        ):
            assert (
                k.receive_email(mail(text, subject=f"ärende {ref}", sender=sender)).outcome == "quarantined"
            )
        held = k.received_messages(outcomes=["quarantined"])
        for n in range(extra_cases):
            register_case(k, text=f"Synpunkt nummer {n}.")
        return Seeded(
            failed,
            uncertain,
            other,
            held[0].id or 0,
            held[1].id or 0,
            notices[failed].id,
            notices[uncertain].id,
        )
    finally:
        k.dispose()


@attrs.frozen
class Site:
    server: UiServer
    browser: Any
    seeded: Seeded

    def page(self, user: str, *, width: int = 1024) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        login(page, self.server, user)
        return page


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module (Playwright's sync API runs one at a time)."""
    with browser(require_browser()) as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("admin")
    db = f"sqlite:///{tmp / 'admin.db'}"
    seeded = seed(db, extra_cases=EXTRA_CASES)
    with served(db, tmp) as server:
        yield Site(server, chromium, seeded)


def library(site: Site, user: str = "nora.lind") -> Klagomal:
    return Klagomal(site.server.db, load_entrypoints=False).as_user(user)


def _get_paths() -> list[str]:
    """Every GET route template of the administration module."""
    return sorted(path for handler in admin.routes if "GET" in handler.http_methods for path in handler.paths)


def _users_by_role() -> dict[Role, str]:
    users: dict[Role, str] = {}
    for user in default_organisation().users.values():
        if user.id != SYSTEM_USER.id:
            users.setdefault(user.role, user.id)
    return users


def test_every_get_route_has_an_operation_and_a_catalogue_entry() -> None:
    from ui_pages_admin import PAGES

    assert set(_get_paths()) == set(admin.OPERATIONS) == set(PAGES)
    assert set(_users_by_role()) == set(Role), "a user of every role in Exempelkommun"


@pytest.mark.parametrize("role", list(Role))
def test_who_gets_each_page_is_the_librarys_rule(site: Site, role: Role) -> None:
    """For every role and every page (the CSV: its own test): 200 where the
    library lets the role do the page's operation, else its denial as a
    403 page; axe-clean either way; no horizontal scrolling at 320 px."""
    user = _users_by_role()[role]
    page = site.page(user, width=320)
    for path in _get_paths():
        if path.endswith(".csv"):
            continue
        response = page.goto(site.server.url + path)
        allowed = admin.OPERATIONS[path] in PERMISSIONS[role]
        assert response.status == (200 if allowed else 403), (user, path, response.status)
        if not allowed:
            assert page.title().startswith("Du har inte behörighet"), (user, path)
            assert "får inte" in page.inner_text("main")
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert_accessible(page, f"{path} as {user}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, (user, path)
    page.context.close()


def test_the_index_names_what_needs_attention(site: Site) -> None:
    page = site.page("nora.lind")
    page.goto(site.server.url + "/admin")
    text = page.inner_text("main")
    k = library(site)
    failed = len(k.outbox(statuses=["failed"]))
    assert f"{failed} misslyckade" in text
    assert "1 osäkert" in text
    quarantined = len(k.received_messages(outcomes=["quarantined"]))
    assert f"{quarantined} meddelanden väntar" in text or f"{quarantined} meddelande väntar" in text
    assert "Kedjan är hel" in text
    assert_accessible(page, "the index")
    # The förvaltning's administrator: their own förvaltning's notices, no audit line.
    kim = site.page("kim.berg")
    kim.goto(site.server.url + "/admin")
    kim_text = kim.inner_text("main")
    assert "1 misslyckat" in kim_text
    assert "Granskningslogg" not in kim_text
    assert_accessible(kim, "the index as kim.berg")


def test_the_outbox_lists_failed_and_uncertain_notices_in_scope(site: Site) -> None:
    s = site.seeded
    page = site.page("kim.berg")
    page.goto(site.server.url + "/admin/utskick")
    rows = page.inner_text("main")
    assert s.failed_ref in rows
    assert s.uncertain_ref in rows
    assert s.other_ref not in rows  # sbf: not kim.berg's
    assert "ogiltig e-postadress" in rows
    assert "anslutningen bröts under DATA" in rows
    failed_row = page.inner_text(f"#utskick-{s.failed_notice}")
    assert "Besked" in failed_row or "besked" in failed_row
    assert page.get_attribute(f"#utskick-{s.failed_notice} a", "href") == f"/arenden/{s.failed_ref}"
    assert page.get_attribute(f"#utskick-{s.uncertain_notice} form", "data-confirm")
    assert_accessible(page, "the outbox")
    nora = site.page("nora.lind")
    nora.goto(site.server.url + "/admin/utskick")
    assert s.other_ref in nora.inner_text("main")


def test_the_quarantine_shows_each_message(site: Site) -> None:
    page = site.page("nora.lind")
    page.goto(site.server.url + "/admin/karantan")
    text = page.inner_text("main")
    for held in library(site).received_messages(outcomes=["quarantined"]):
        assert f"Meddelande {held.id}" in text
        assert (held.sender or "") in text
        assert (held.subject or "") in text
        assert (held.reason or "") in text
    assert "granne@example.net" in text
    assert_accessible(page, "the quarantine")


def test_the_register_list_is_paginated_and_is_the_librarys(site: Site) -> None:
    page = site.page("kim.berg")
    today = dt.date.today()
    page.goto(site.server.url + "/admin/diarium")
    seen: list[str] = []
    while True:
        assert_accessible(page, f"the register list {page.url}")
        seen += page.eval_on_selector_all(
            "tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)"
        )
        following = page.query_selector("a:has-text('Nästa sida')")
        if following is None:
            break
        following.click()
        page.wait_for_load_state()
    expected = library(site, "kim.berg").register_list(today.replace(month=1, day=1), today)
    assert seen == [e.reference for e in expected]
    assert len(seen) > admin.REGISTER_ROWS
    # A bad date: the error on the field, nothing listed.
    response = page.goto(site.server.url + "/admin/diarium?fran=igar")
    assert response.status == 422
    assert page.title().startswith("Fel:")
    assert page.get_attribute("#fran", "aria-invalid") == "true"
    assert "fran-error" in (page.get_attribute("#fran", "aria-describedby") or "")
    assert_accessible(page, "the register list with an error")


def test_the_report_and_its_csv_are_the_librarys(site: Site, tmp_path: Path) -> None:
    page = site.page("kim.berg")
    page.goto(site.server.url + "/admin/rapporter")
    assert_accessible(page, "the report form")
    period = parse_period(f"{dt.date.today().year}")
    page.select_option("#period", period.id)
    page.click("button:has-text('Visa rapporten')")
    page.wait_for_load_state()
    assert_accessible(page, "a report")
    k = library(site, "kim.berg")
    report = build_report(
        k, period, department="soc", audience="staff", threshold=k.organisation.reports.threshold
    )
    text = page.inner_text("main")
    assert report.title in text
    assert str(report.total) in text
    files = render_csv(report)
    links = page.eval_on_selector_all("a[download]", "links => links.map(a => a.getAttribute('href'))")
    assert len(links) == len(files) == len(report.tables)
    table = report.tables[0]
    link = next(href for href in links if f"tabell={table.id}" in href)
    response = page.request.get(site.server.url + link)
    assert response.status == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.body().decode("utf-8") == files[f"{table.id}.csv"]
    rows = list(csv.reader(io.StringIO(response.body().decode("utf-8-sig")), delimiter=";"))
    assert tuple(rows[0]) == table.columns
    # Egna datum without the dates: the library's refusal on the field.
    page.select_option("#period", admin.CUSTOM)
    page.click("button:has-text('Visa rapporten')")
    page.wait_for_load_state()
    assert page.title().startswith("Fel:")
    assert "ange både från och med och till och med" in page.inner_text(".error-summary")
    assert page.get_attribute("#fran", "aria-invalid") == "true"
    assert_accessible(page, "the report form with an error")
    # A handler may not have the report of a förvaltning: the library's denial.
    omar = site.page("omar.ali")
    response = omar.request.get(
        site.server.url + "/admin/rapporter.csv?mottagare=staff&period=2026&forvaltning=soc&tabell=x"
    )
    assert response.status == 403


def test_the_audit_page_shows_the_chain_and_the_latest_entries(site: Site) -> None:
    page = site.page("nora.lind")
    page.goto(site.server.url + "/admin/logg")
    text = page.inner_text("main")
    verification = library(site).audit_verify()
    assert "Kedjan är hel" in text
    assert verification.ok
    first_row = page.inner_text("tbody tr")
    assert first_row.split()[0].isdigit()
    assert int(first_row.split()[0]) >= verification.last_id - admin.AUDIT_ROWS
    assert_accessible(page, "the audit page")


def test_the_plugins_page_lists_the_installed_plugins(site: Site) -> None:
    page = site.page("kim.berg")
    page.goto(site.server.url + "/admin/tillagg")
    text = page.inner_text("main")
    pm = Klagomal(site.server.db).plugin_manager
    names = [name for name, plugin in pm.list_name_plugin() if plugin is not None]
    assert names
    assert all(name in text for name in names)
    assert "klagomal_notifiers" in text
    assert_accessible(page, "the plugins page")


def test_requeue_release_and_no_case_on_every_backend(
    new_database: Callable[[], str], tmp_path: Path, chromium: Any
) -> None:
    """The pages' steps, read back through the library, on each backend
    (``new_database``: SQLite, PostgreSQL, MariaDB); a refusal writes nothing."""
    db = new_database()
    s = seed(db)
    with served(db, tmp_path) as server:
        site = Site(server, chromium, s)
        k = library(site)
        page = site.page("kim.berg")

        # Försök igen, after the confirmation.
        page.goto(server.url + "/admin/utskick")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(f"#utskick-{s.failed_notice} button")
        page.wait_for_load_state()
        assert page.url.endswith("/admin/utskick")
        assert f"Utskick {s.failed_notice} i ärende {s.failed_ref}" in page.inner_text("[data-flash]")
        assert_accessible(page, "the outbox after a requeue")
        [notice] = [n for n in k.outbox(reference=s.failed_ref) if n.id == s.failed_notice]
        assert (notice.status, notice.attempts) == ("pending", 0)

        # Inget ärende without a reason: refused with the library's words, nothing written.
        page.goto(server.url + "/admin/karantan")
        page.fill(f"#skal-{s.dismiss_id}", "   ")
        page.click(f"form[action$='{s.dismiss_id}/inget-arende'] button")
        page.wait_for_load_state()
        assert page.title().startswith("Fel:")
        field = f"#skal-{s.dismiss_id}"
        assert page.get_attribute(field, "aria-invalid") == "true"
        assert f"skal-{s.dismiss_id}-error" in (page.get_attribute(field, "aria-describedby") or "")
        assert f"ange varför meddelande {s.dismiss_id} inte är något ärende" in page.inner_text(
            ".error-summary"
        )
        assert page.get_attribute(".error-summary a", "href") == f"#skal-{s.dismiss_id}"
        assert_accessible(page, "the quarantine with an error")
        assert {m.id for m in k.received_messages(outcomes=["quarantined"])} == {s.release_id, s.dismiss_id}

        # With a reason: out of the quarantine, kept with the reason.
        page.fill(field, "Reklam, inget ärende")
        page.click(f"form[action$='{s.dismiss_id}/inget-arende'] button")
        page.wait_for_load_state()
        assert f"Meddelande {s.dismiss_id}" in page.inner_text("[data-flash]")
        assert_accessible(page, "the quarantine after marking no case")
        [kept] = k.received_messages(ids=[s.dismiss_id], with_raw=True)
        assert kept.outcome == "dismissed"
        assert kept.raw
        assert (kept.reason or "").endswith("inte något ärende: Reklam, inget ärende")
        assert any(
            e.user_id == "kim.berg" and e.detail == f"quarantine: message {s.dismiss_id} is no case"
            for e in k.audit_log(limit=20)
        )

        # Släpp in into a case that does not exist: refused, the value kept.
        page.fill(f"#arende-{s.release_id}", "2026-99999")
        page.click(f"form[action$='{s.release_id}/slapp-in'] button")
        page.wait_for_load_state()
        assert page.title().startswith("Fel:")
        assert page.input_value(f"#arende-{s.release_id}") == "2026-99999"
        assert_accessible(page, "the quarantine with a release refused")
        assert [m.id for m in k.received_messages(outcomes=["quarantined"])] == [s.release_id]

        # Into the case it names (the default).
        page.fill(f"#arende-{s.release_id}", "")
        page.click(f"form[action$='{s.release_id}/slapp-in'] button")
        page.wait_for_load_state()
        assert s.failed_ref in page.inner_text("[data-flash]")
        assert "Inga meddelanden i karantänen." in page.inner_text("main")
        assert_accessible(page, "the empty quarantine")
        [moved] = k.received_messages(ids=[s.release_id])
        assert (moved.outcome, moved.reference) == ("reply", s.failed_ref)
        assert k.history(s.failed_ref)[-1].type == "message_received"
        k.dispose()
