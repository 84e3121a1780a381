"""Webhook subscriptions and deliveries in the database's export and import
(docs/storage.md, ``klagomal.notices.webhook_transfer``), on SQLite,
PostgreSQL and MariaDB: a database moved with its secrets goes on
delivering what was due, with the same ``webhook-id`` and a signature the
receiver still verifies (with the independent ``standardwebhooks``
package); without its secret a subscription is imported removed; API keys
are never carried; bad input is refused in Swedish and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from tests.test_webhooks import Receiver, free_port, register

from klagomal import FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core.errors import InvalidInputError
from klagomal.core.serialization import EXPORT_VERSION


def _instance(url: str) -> Klagomal:
    k = Klagomal(url, clock=FixedClock(dt.date(2026, 3, 2)), load_entrypoints=False, user="system")
    k.init()
    return k


def _source(k: Klagomal, receiver: Receiver, down: str) -> dict[str, Any]:
    """Three subscriptions (one sent to, one whose receiver is down, one
    removed), an API key, and two cases; returns what they are called."""
    sent = k.webhooks.subscribe(receiver.url, user="nora.lind")
    later = k.webhooks.subscribe(down, user="omar.ali", events=["registered", "closed"])
    gone = k.webhooks.subscribe(receiver.url + "/gammal", user="nora.lind", events=["answered"])
    k.webhooks.unsubscribe(gone.id)
    k.create_api_key("omar.ali", "Diariet")
    references = [register(k), register(k, phone="070-123 45 67")]
    run = k.webhooks.deliver()
    assert (len(run.sent), len(run.retry)) == (2, 2)
    return {"sent": sent, "later": later, "references": references}


def test_moved_with_its_secrets_a_database_goes_on_delivering(new_database: Callable[[], str]) -> None:
    receiver, port = Receiver(), free_port()
    src, dst = _instance(new_database()), _instance(new_database())
    try:
        made = _source(src, receiver, f"http://127.0.0.1:{port}/hook")
        exported = src.export(include_secrets=True)
        assert exported["version"] >= 3  # a klagomal that reads only 1 and 2 refuses it
        assert all(w["secret"].startswith("whsec_") for w in exported["webhooks"])
        assert len(exported["webhook_deliveries"]) == 4
        assert dst.import_(exported) == 2
        # The same subscriptions, secrets and deliveries, with their state.
        again = dst.export(include_secrets=True)
        assert again["webhooks"] == exported["webhooks"]
        assert again["webhook_deliveries"] == exported["webhook_deliveries"]
        # API keys are not carried (docs/storage.md: a key is issued per installation).
        assert dst.api_keys() == []
        assert "api_keys" not in exported
        # The receiver that was down comes up: the moved database delivers what
        # was due, with the webhook-id it had, signed with the secret it had.
        waiting = [d for d in dst.webhooks.deliveries() if d.status == "pending"]
        assert [d.webhook_id for d in waiting] == [
            d.webhook_id for d in src.webhooks.deliveries() if d.status == "pending"
        ]
        up = Receiver(port)
        try:
            assert isinstance(dst.clock, FixedClock)
            dst.clock.advance(1)
            run = dst.webhooks.deliver()
            assert sorted(d.webhook_id for d in run.sent) == sorted(d.webhook_id for d in waiting)
            for headers, body in up.requests:
                Webhook(made["later"].secret).verify(body, headers)  # raises on a bad signature
        finally:
            up.close()
        assert dst.webhooks.deliver().sent == []  # nothing sent before the move is sent again
        assert len(receiver.requests) == 2
        # New events reach the moved subscriptions.
        reference = register(dst)
        assert {(d.reference, d.status) for d in dst.webhooks.deliveries() if d.reference == reference} == {
            (reference, "pending")
        }
    finally:
        receiver.close()
        src.dispose()
        dst.dispose()


def test_without_its_secret_a_subscription_is_imported_removed(new_database: Callable[[], str]) -> None:
    receiver, port = Receiver(), free_port()
    src, dst = _instance(new_database()), _instance(new_database())
    try:
        _source(src, receiver, f"http://127.0.0.1:{port}/hook")
        exported = src.export()
        assert [w["secret"] for w in exported["webhooks"]] == [None, None, None]
        assert "whsec_" not in json.dumps(exported)
        dst.import_(exported)
        subscriptions = dst.webhooks.subscriptions(removed=True)
        assert len(subscriptions) == 3
        assert all(s.removed_at is not None for s in subscriptions)
        assert dst.webhooks.subscriptions() == []
        # What was waiting failed, with the reason; what was sent stays sent.
        statuses = sorted((d.status, d.last_error or "") for d in dst.webhooks.deliveries())
        assert statuses == [
            ("failed", "prenumerationen importerades utan sin hemlighet"),
            ("failed", "prenumerationen importerades utan sin hemlighet"),
            ("sent", ""),
            ("sent", ""),
        ]
        assert dst.webhooks.deliver().sent == []
        register(dst)
        assert len(dst.webhooks.deliveries()) == 4  # a removed subscription gets nothing new
    finally:
        receiver.close()
        src.dispose()
        dst.dispose()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda w, d: w[0].update(user="okand.person"),
            "webhook nr 1 i 'webhooks': okänd användare 'okand.person'",
        ),
        (
            lambda w, d: w[1].update(events=["inget"]),
            "webhook nr 2 i 'webhooks': okända händelsetyper: inget",
        ),
        (lambda w, d: w[0].update(secret="hemligt"), "'secret' är ingen hemlighet whsec_..."),
        (lambda w, d: w[0].update(created_at="igår"), "'created_at' är ingen tidpunkt med tidszon"),
        (
            lambda w, d: d[0].update(subscription=99),
            "leverans nr 1 i 'webhook_deliveries': prenumerationen 99",
        ),
        (lambda w, d: d[0].update(seq=9), "händelse 9 i ärende 2026-00001 finns inte i filen"),
        (lambda w, d: d[0].update(status="borta"), "okänd status 'borta'"),
    ],
)
def test_bad_webhooks_in_an_import_are_refused_and_nothing_is_written(
    new_database: Callable[[], str], change: Callable[[list[Any], list[Any]], None], message: str
) -> None:
    receiver = Receiver()
    src, dst = _instance(new_database()), _instance(new_database())
    try:
        _source(src, receiver, f"http://127.0.0.1:{free_port()}/hook")
        exported = src.export(include_secrets=True)
        change(exported["webhooks"], exported["webhook_deliveries"])
        with pytest.raises(InvalidInputError, match=message.replace(".", r"\.")):
            dst.import_(exported)
        assert dst.cases() == []
        assert dst.webhooks.subscriptions(removed=True) == []
    finally:
        receiver.close()
        src.dispose()
        dst.dispose()


def test_a_version_2_file_with_webhooks_is_read_as_before_and_a_newer_version_is_refused(
    new_database: Callable[[], str],
) -> None:
    """Version 2 files carried webhooks before the version was raised to 3:
    they are read with them.  A version this code does not know may carry
    parts it would skip: refused, nothing written."""
    receiver = Receiver()
    src, old, new = _instance(new_database()), _instance(new_database()), _instance(new_database())
    try:
        _source(src, receiver, f"http://127.0.0.1:{free_port()}/hook")
        exported = src.export(include_secrets=True)
        assert old.import_({**exported, "version": 2}) == 2
        again = old.export(include_secrets=True)
        assert again["version"] == EXPORT_VERSION
        assert (again["webhooks"], again["webhook_deliveries"]) == (
            exported["webhooks"],
            exported["webhook_deliveries"],
        )
        with pytest.raises(InvalidInputError) as info:
            new.import_({**exported, "version": EXPORT_VERSION + 1})
        assert str(info.value) == (
            "steg 'importera': filen är en klagomal-export av version 5, som är nyare än vad den här "
            "versionen av klagomal kan läsa (version 1, 2, 3 och 4); importera den med en nyare klagomal"
        )
        assert new.cases() == []
        assert new.webhooks.subscriptions(removed=True) == []
        assert new.webhooks.deliveries() == []
        assert new.export()["references"] == {}
    finally:
        receiver.close()
        for k in (src, old, new):
            k.dispose()


def test_the_cli_exports_the_secrets_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    base = ["--db", db, "--user", "nora.lind"]
    assert main([*base, "init"]) == 0
    assert main([*base, "webhook", "add", "http://127.0.0.1:9/hook", "--for-user", "omar.ali", "--all"]) == 0
    capsys.readouterr()
    for options, secret in (([], False), (["--with-secrets"], True)):
        assert main([*base, "export", *options]) == 0
        (webhook,) = json.loads(capsys.readouterr().out)["webhooks"]
        assert (webhook["secret"] or "").startswith("whsec_") is secret
