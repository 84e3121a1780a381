"""The HTTP API's instance acting as each user (``klagomal.web.auth``):
built once per user for :data:`~klagomal.web.auth.ACTING_TTL` seconds
instead of twice per request, and asked of the ``klagomal_identify`` hook
again after that, so that a user whose role the kommun's directory changes
acts with the new role within seconds.

The API key itself is looked up on every request: a revoked key is refused
at once (``tests/test_web_server.py``,
``test_a_key_revoked_by_the_cli_is_refused_by_the_running_server``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("litestar", reason="the web extra: pip install 'klagomal[web]'")

from klagomal import FixedClock, Klagomal
from klagomal.context import lock_wait_seconds
from klagomal.core.errors import AccessDeniedError
from klagomal.records.access import Role, User
from klagomal.testing import plugin
from klagomal.web import auth


class Directory:
    """The kommun's directory as an identify hook sees it, counting the questions."""

    def __init__(self) -> None:
        self.users = {"anna": User(id="anna", name="Anna Ek", role=Role.READER)}
        self.asked: list[str] = []

    def identify(self, user_id: str, organisation: object) -> User | None:
        self.asked.append(user_id)
        return self.users.get(user_id)


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
def base(directory: Directory, clock: FixedClock) -> Iterator[Klagomal]:
    sso = plugin(
        "sso", klagomal_identify=lambda user_id, organisation: directory.identify(user_id, organisation)
    )
    with Klagomal("sqlite://", clock=clock, load_entrypoints=False, plugins=[sso]) as k:
        yield k


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    monkeypatch.setattr(auth.time, "monotonic", clock)
    return clock


def test_a_user_acting_instance_is_built_once_within_its_lifetime(
    base: Klagomal, directory: Directory, monotonic: Monotonic
) -> None:
    cache = auth._ActingCache(base)
    directory.asked.clear()
    first = cache.get("anna")
    monotonic.now += auth.ACTING_TTL - 0.1
    second = cache.get("anna")
    assert directory.asked == ["anna"]
    assert second.user is first.user
    assert first.user == directory.users["anna"]
    assert first.lock_wait == lock_wait_seconds(auth.LOCK_WAIT)
    other = cache.get("omar.ali")  # Exempelkommun's own user, through the built-in hook
    assert other.user is not None
    assert other.user.id == "omar.ali"


def test_each_request_gets_a_copy_of_its_own(
    base: Klagomal, directory: Directory, monotonic: Monotonic
) -> None:
    """A request binds its own state to its instance (an Idempotency-Key's
    claim while its write runs): another request of the same user, in
    another thread, must not act with it."""
    cache = auth._ActingCache(base)
    one, other = cache.get("omar.ali"), cache.get("omar.ali")
    assert one is not other
    claim = one.idempotent_request("scope", "key-1", "request")
    with claim.running():
        assert one._ctx.idempotency is not None
        assert other._ctx.idempotency is None
        assert cache.get("omar.ali")._ctx.idempotency is None


def test_after_its_lifetime_the_directory_is_asked_again_and_a_new_role_applies(
    base: Klagomal, directory: Directory, monotonic: Monotonic
) -> None:
    cache = auth._ActingCache(base)
    directory.asked.clear()
    assert cache.get("anna").user == User(id="anna", name="Anna Ek", role=Role.READER)
    directory.users["anna"] = User(id="anna", name="Anna Ek", role=Role.SYSTEM_OWNER)
    monotonic.now += auth.ACTING_TTL + 0.1
    again = cache.get("anna")
    assert directory.asked == ["anna", "anna"]
    assert again.user is not None
    assert again.user.role is Role.SYSTEM_OWNER


def test_a_user_the_directory_no_longer_knows_is_denied_after_its_lifetime(
    base: Klagomal, directory: Directory, monotonic: Monotonic
) -> None:
    cache = auth._ActingCache(base)
    directory.asked.clear()
    assert cache.get("anna").user is not None
    del directory.users["anna"]
    monotonic.now += auth.ACTING_TTL + 0.1
    gone = cache.get("anna")
    assert gone.user is None
    with pytest.raises(AccessDeniedError, match="okänd användare 'anna'"):
        gone.cases()
