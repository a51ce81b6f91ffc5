"""Contract tests of the partner store (API key hashes, idempotent replies) on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.core.errors import ConfigurationError, InputError, NotFound
from copilot.core.ports import ApiKey, StoredReply
from tools.sql import SqlStore
from tools.sql.partners import SqlPartnerStore
from tools.sql.testing import scratch_database

PG_ADMIN_URL = os.environ.get("LOGISTICS_COPILOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = 1_760_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def partners(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlPartnerStore]:
    """A migrated partner store whose clock reads NOW, NOW+1, ..."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{(tmp_path / 'partners.sqlite3').as_posix()}"])
        scratch = None
    else:
        try:
            scratch = scratch_database(PG_ADMIN_URL)
            urls = iter([scratch.__enter__()])
        except ConfigurationError as e:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL must be reachable in CI: {e}")
            pytest.skip(f"PostgreSQL is not reachable: {e}")
    ticks = itertools.count(NOW)
    store = SqlStore(next(urls), now=lambda: next(ticks))
    store.upgrade()
    try:
        yield SqlPartnerStore(store)
    finally:
        store.close()
        if scratch is not None:
            scratch.__exit__(None, None, None)


def _key(key_id: str, partner: str = "acme", scopes: frozenset[str] = frozenset({"read"})) -> ApiKey:
    return ApiKey(key_id=key_id, partner=partner, scopes=scopes, created_at=NOW)


def test_keys_are_found_by_hash_listed_and_revoked(partners: SqlPartnerStore) -> None:
    partners.add_api_key(_key("k1", scopes=frozenset({"read", "plan"})), "hash-1")
    partners.add_api_key(_key("k2", partner="zenith"), "hash-2")
    found = partners.api_key_by_hash("hash-1")
    assert found == _key("k1", scopes=frozenset({"read", "plan"})) and found.active
    assert partners.api_key_by_hash("nope") is None
    assert [k.key_id for k in partners.api_keys()] == ["k1", "k2"]
    assert [k.key_id for k in partners.api_keys("zenith")] == ["k2"]
    revoked = partners.revoke_api_key("k1")
    assert not revoked.active and revoked.revoked_at is not None
    assert partners.revoke_api_key("k1").revoked_at == revoked.revoked_at  # the first revocation is kept
    assert partners.api_key_by_hash("hash-1") == revoked
    with pytest.raises(NotFound):
        partners.revoke_api_key("k9")
    with pytest.raises(InputError):
        partners.add_api_key(_key("k3"), "hash-2")  # one hash, one key


def test_idempotent_replies_are_claimed_kept_and_released(partners: SqlPartnerStore) -> None:
    assert partners.reserve_reply("acme", "key-1", "fp-a", max_age_s=3600, lease_s=60) is None
    assert partners.reserve_reply("acme", "key-1", "fp-a", max_age_s=3600, lease_s=60) == StoredReply("fp-a", 0, "")  # still running
    assert partners.reserve_reply("zenith", "key-1", "fp-z", max_age_s=3600, lease_s=60) is None  # keys are per partner
    partners.finish_reply("acme", "key-1", 201, '{"ok": true}')
    assert partners.reserve_reply("acme", "key-1", "fp-b", max_age_s=3600, lease_s=60) == StoredReply("fp-a", 201, '{"ok": true}')
    partners.release_reply("zenith", "key-1")
    assert partners.reserve_reply("zenith", "key-1", "fp-z2", max_age_s=3600, lease_s=60) is None
    assert partners.reserve_reply("acme", "key-1", "fp-c", max_age_s=0, lease_s=60) is None  # expired replies are forgotten
    with pytest.raises(InputError):
        partners.reserve_reply("acme", "", "fp", max_age_s=3600, lease_s=60)


def test_a_claim_left_by_a_dead_request_is_taken_over_after_its_lease(partners: SqlPartnerStore) -> None:
    # the clock ticks one second per call: a 3 s lease runs out after a few calls without renewal
    assert partners.reserve_reply("acme", "k", "fp-a", max_age_s=3600, lease_s=3) is None
    assert partners.reserve_reply("acme", "k", "fp-a", max_age_s=3600, lease_s=3) == StoredReply("fp-a", 0, "")  # running
    partners.renew_reply("acme", "k", lease_s=3)  # the running request renews its claim
    assert partners.reserve_reply("acme", "k", "fp-a", max_age_s=3600, lease_s=3) == StoredReply("fp-a", 0, "")
    partners._now()  # time passes without a renewal: the request died (each _now() is one tick)
    partners._now()
    partners._now()
    assert partners.reserve_reply("acme", "k", "fp-a", max_age_s=3600, lease_s=3) is None  # taken over by the retry
    partners.finish_reply("acme", "k", 200, "{}")
    for _ in range(5):
        partners._now()
    assert partners.reserve_reply("acme", "k", "fp-a", max_age_s=3600, lease_s=3) == StoredReply("fp-a", 200, "{}")  # a kept reply has no lease
