"""``SqlPartnerStore``: the :class:`copilot.core.ports.PartnerStore` on the same database as a :class:`SqlStore`.

API keys are kept as hashes only (the caller hashes; this module never sees a key). Replies to
idempotent writes are claimed first (status 0) so that two concurrent requests with one key cannot
both run, then filled in (in the transaction of the change they answer, when the caller runs both in one
:meth:`SqlStore.unit_of_work`), or released when the request failed without a reply worth keeping. A claim
carries a lease that its request renews while it runs: a claim past its lease was left by a request that
died (a crash, kill -9) and a retry takes it over instead of waiting forever.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from copilot.core.errors import InputError, NotFound
from copilot.core.ports import ApiKey, StoredReply
from tools.sql.schema import api_keys, idempotency_keys
from tools.sql.store import SqlStore


def _key(row: RowMapping) -> ApiKey:
    scopes = frozenset(s for s in str(row["scopes"]).split(",") if s)
    revoked = row["revoked_at"]
    return ApiKey(
        key_id=row["key_id"],
        partner=row["partner"],
        scopes=scopes,
        created_at=int(row["created_at"]),
        revoked_at=None if revoked is None else int(revoked),
        note=row["note"],
    )


class _Raced(InputError):
    """Two requests claimed one idempotency key at once; the database kept the first."""


class SqlPartnerStore:
    """Partner keys and idempotent replies in the database of ``store`` (its connections and clock)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _now(self) -> int:
        return self._store._now()

    # -- API keys ----------------------------------------------------------------------------

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        """Store a new key under its hash (InputError when the id or the hash is already stored)."""
        values = {
            "key_id": key.key_id,
            "partner": key.partner,
            "key_hash": key_hash,
            "scopes": ",".join(sorted(key.scopes)),
            "note": key.note,
            "created_at": key.created_at,
            "revoked_at": key.revoked_at,
        }
        with self._store._tx(write=True, what=f"adding API key {key.key_id!r}") as conn:
            conn.execute(insert(api_keys).values(**values))

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key stored under this hash, revoked or not (None when there is none)."""
        with self._store._tx() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).mappings().first()
            return None if row is None else _key(row)

    def api_keys(self, partner: str | None = None) -> list[ApiKey]:
        """Every key, or every key of one partner, oldest first."""
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        if partner is not None:
            query = query.where(api_keys.c.partner == partner)
        with self._store._tx() as conn:
            return [_key(r) for r in conn.execute(query).mappings()]

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke a key from now on (NotFound for an unknown id; a revoked key keeps its first revocation time)."""
        with self._store._tx(write=True, what=f"revoking API key {key_id!r}") as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id).with_for_update()).mappings().first()
            if row is None:
                known = list(conn.scalars(select(api_keys.c.key_id)))
                raise NotFound("API key", key_id, known)
            if row["revoked_at"] is None:
                conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=self._now()))
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).mappings().one()
            return _key(row)

    # -- idempotent replies ------------------------------------------------------------------

    def reserve_reply(self, partner: str, key: str, fingerprint: str, *, max_age_s: int, lease_s: int) -> StoredReply | None:
        """Claim ``key`` for a request (None), or return the reply kept for it (status 0 while the first request runs).

        A claim whose lease ran out (its request died without a reply; nothing it did was committed, since the
        reply is kept in the change's own transaction) is taken over by this request."""
        if not key or len(key) > 255:
            raise InputError("an Idempotency-Key must have 1 to 255 characters")
        now = self._now()
        try:
            with self._store._tx(write=True, what="claiming an idempotency key", rejected=_Raced) as conn:
                conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < now - max_age_s))
                where = (idempotency_keys.c.partner == partner) & (idempotency_keys.c.key == key)
                row = conn.execute(select(idempotency_keys).where(where).with_for_update()).mappings().first()
                values = {"fingerprint": fingerprint, "status": 0, "body": "", "created_at": now, "lease_until": now + lease_s}
                if row is not None:
                    lease = row["lease_until"]
                    dead = int(row["status"]) == 0 and (int(row["created_at"]) + lease_s if lease is None else int(lease)) < now
                    if not dead:
                        return StoredReply(fingerprint=row["fingerprint"], status=int(row["status"]), body=row["body"])
                    conn.execute(update(idempotency_keys).where(where).values(**values))
                    return None
                conn.execute(insert(idempotency_keys).values(partner=partner, key=key, **values))
                return None
        except _Raced:  # a concurrent request claimed the same key first (PostgreSQL)
            return StoredReply(fingerprint=fingerprint, status=0, body="")

    def renew_reply(self, partner: str, key: str, *, lease_s: int) -> None:
        """Extend a running claim's lease to ``lease_s`` seconds from now."""
        where = (idempotency_keys.c.partner == partner) & (idempotency_keys.c.key == key) & (idempotency_keys.c.status == 0)
        with self._store._tx(write=True, what="renewing an idempotency claim") as conn:
            conn.execute(update(idempotency_keys).where(where).values(lease_until=self._now() + lease_s))

    def finish_reply(self, partner: str, key: str, status: int, body: str) -> None:
        """Keep the reply of a claimed key."""
        where = (idempotency_keys.c.partner == partner) & (idempotency_keys.c.key == key)
        with self._store._tx(write=True, what="keeping an idempotent reply") as conn:
            conn.execute(update(idempotency_keys).where(where).values(status=status, body=body, lease_until=None))

    def release_reply(self, partner: str, key: str) -> None:
        """Forget a claim (its request failed without a reply worth keeping)."""
        where = (idempotency_keys.c.partner == partner) & (idempotency_keys.c.key == key)
        with self._store._tx(write=True, what="releasing an idempotency key") as conn:
            conn.execute(delete(idempotency_keys).where(where))
