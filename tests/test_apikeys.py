"""The HTTP API's keys (klagomal.storage.sql.api_keys, Klagomal.create_api_key,
``klagomal apikey``): created for a user of the organisation file, stored
only as a hash, listed, revoked; only the system owner may; on every backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.test_cli import Cli

from klagomal import Klagomal
from klagomal.core.errors import AccessDeniedError, InvalidInputError
from klagomal.storage.sql.api_keys import KEY_PREFIX, api_key_hash
from klagomal.storage.tables import api_keys, audit_log


def _owner(url: str) -> Klagomal:
    k = Klagomal(url, user="nora.lind", load_entrypoints=False)
    k.init()
    return k


def _rows(url: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(api_keys)))
    finally:
        engine.dispose()


def test_a_key_is_stored_only_as_its_hash_and_finds_its_user(new_database: Callable[[], str]) -> None:
    url = new_database()
    with _owner(url) as k:
        stored, key = k.create_api_key("omar.ali", "E-tjänsteplattformen")
        assert key.startswith(KEY_PREFIX)
        assert len(key) >= 40
        assert (stored.name, stored.user_id, stored.created_by, stored.active) == (
            "E-tjänsteplattformen",
            "omar.ali",
            "nora.lind",
            True,
        )
        assert k.api_key_user(key) == "omar.ali"
        assert k.api_key_user(key + "x") is None
        assert k.api_key_user("") is None
        other_stored, other = k.create_api_key("sven.ek", "Analys")
        assert other != key
        assert k.api_key_user(other) == "sven.ek"
        assert [x.id for x in k.api_keys()] == [stored.id, other_stored.id]
    (row, _other_row) = _rows(url)
    assert row.hash == api_key_hash(key)
    # Nothing in the row is the key, or more of it than the prefix.
    assert all(key not in str(value) for value in row)
    assert key.startswith(row.prefix)
    assert len(row.prefix) < 16


def test_a_revoked_key_finds_nobody_and_is_listed_revoked(new_database: Callable[[], str]) -> None:
    url = new_database()
    with _owner(url) as k:
        stored, key = k.create_api_key("omar.ali", "Kontaktcenter")
        revoked = k.revoke_api_key(stored.id)
        assert revoked.revoked is not None
        assert revoked.revoked_by == "nora.lind"
        assert not revoked.active
        assert k.api_key_user(key) is None
        with pytest.raises(InvalidInputError, match="redan återkallad"):
            k.revoke_api_key(stored.id)
        with pytest.raises(InvalidInputError, match="ingen API-nyckel med id 99"):
            k.revoke_api_key(99)
        assert [x.active for x in k.api_keys()] == [False]


def test_bad_input_is_refused_in_swedish_and_writes_nothing(db_url: str) -> None:
    with _owner(db_url) as k:
        with pytest.raises(InvalidInputError, match="användaren 'ingen' finns inte i organisationsfilen"):
            k.create_api_key("ingen", "System")
        for name in ("", "  ", "två\nrader", "x" * 201):
            with pytest.raises(InvalidInputError, match="namnet på systemet"):
                k.create_api_key("omar.ali", name)
        assert k.api_keys() == []
    assert _rows(db_url) == []


@pytest.mark.parametrize("user", ["omar.ali", "kim.berg", "lena.holm", "sven.ek", "kontaktcenter"])
def test_only_the_system_owner_manages_keys(db_url: str, user: str) -> None:
    with _owner(db_url) as owner:
        stored, _key = owner.create_api_key("omar.ali", "System")
        k = owner.as_user(user)
        with pytest.raises(AccessDeniedError):
            k.create_api_key("omar.ali", "Annat")
        with pytest.raises(AccessDeniedError):
            k.api_keys()
        with pytest.raises(AccessDeniedError):
            k.revoke_api_key(stored.id)
        assert [x.active for x in owner.api_keys()] == [True]


def test_creating_and_revoking_are_audited(db_url: str) -> None:
    with _owner(db_url) as k:
        stored, _key = k.create_api_key("omar.ali", "Diariet")
        k.revoke_api_key(stored.id)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        details = [
            r.detail for r in conn.execute(sa.select(audit_log).where(audit_log.c.user_id == "nora.lind"))
        ]
    engine.dispose()
    assert f"API-nyckel {stored.id} skapad: Diariet, omar.ali" in details
    assert f"API-nyckel {stored.id} återkallad: Diariet" in details


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli()


def test_the_cli_creates_lists_and_revokes(cli: Cli) -> None:
    cli.ok("init")
    created = cli.ok("apikey create --for-user omar.ali --name 'E-tjänst'", json=True).json()
    assert (created["id"], created["user"], created["name"]) == (1, "omar.ali", "E-tjänst")
    assert created["key"].startswith(KEY_PREFIX)
    text = cli.ok("apikey create --for-user sven.ek --name Analys").out
    assert "API-nyckel 2 för Analys (agerar som sven.ek):" in text
    assert "kan inte visas igen" in text
    listed = cli.ok("apikey list", json=True).json()["keys"]
    assert [(x["id"], x["user"], x["revoked"]) for x in listed] == [
        (1, "omar.ali", None),
        (2, "sven.ek", None),
    ]
    assert created["key"] not in cli.ok("apikey list").out
    assert cli.ok("apikey revoke 1").out == "API-nyckel 1 för E-tjänst är återkallad.\n"
    refused = cli.refused("apikey revoke 1")
    assert refused.err == "klagomal: API-nyckel 1 är redan återkallad\n"
    assert cli.refused("apikey list --user omar.ali", status=77).err.startswith("klagomal: Åtkomst nekad")


def test_idempotent_answers_are_kept_a_day_and_no_longer(new_database: Callable[[], str]) -> None:
    import datetime as dt

    from klagomal.storage.sql.idempotency import KEPT, Outcome

    url = new_database()
    with _owner(url) as k:
        t0 = dt.datetime(2026, 3, 2, 12, 0)
        later = t0 + KEPT + dt.timedelta(seconds=1)
        with k.storage.transaction() as uow:
            assert (
                uow.store_idempotent_answer("s", "a", "r1", (201, "{}", b"svar"), t0, on_outcome=False)
                is None
            )
            uow.record_idempotent_outcome("s", "b", "r2", Outcome("2026-00001", 1), t0)
        with k.storage.snapshot() as uow:
            kept = uow.idempotent_answer("s", "a", t0 + KEPT)
            outcome = uow.idempotent_answer("s", "b", t0 + KEPT)
        assert kept is not None
        assert (kept.status, kept.body) == (201, b"svar")
        assert outcome is not None
        assert outcome.outcome == Outcome("2026-00001", 1)
        with k.storage.snapshot() as uow:
            # A day and a moment later the answers are gone: the keys are new again.
            assert uow.idempotent_answer("s", "a", later) is None
            assert uow.idempotent_answer("s", "b", later) is None
        with k.storage.transaction() as uow:
            assert (
                uow.store_idempotent_answer("s", "c", "r3", (201, "{}", b"ny"), later, on_outcome=False)
                is None
            )
        with k.storage.transaction() as uow:
            # The purge took the expired rows: only the new one is left.
            assert uow.purge_idempotency_keys(later) == 0
            assert uow.idempotent_answer("s", "a", t0) is None
