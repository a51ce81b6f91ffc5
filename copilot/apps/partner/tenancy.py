"""Partners of the tool API: API keys, scopes and each partner's own worlds; ``logistics-copilot keys``.

A key is ``lck_<id>_<secret>`` with 256 random bits of secret; the store keeps only its SHA-256 hash
(a key this random needs no salt or slow hash), so a stolen database yields no usable key. The key is
printed once, when it is made.

Scopes: ``read`` (look-ups: GET), ``plan`` (drafts, what-if, insertion advice, forecasts that solve),
``dispatch`` (facts and commits: events, order writes, cancellations, approvals, world imports).

Tenancy: a partner's worlds are stored under ``<partner>/<name>``; a partner only ever names its worlds by
``<name>`` and every look-up goes through :func:`resolve_world`, so another partner's world (and so its
depots, vehicles, orders and plans) is simply not found.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from copilot.core.errors import InputError, NotFound
from copilot.core.ports import ApiKey, PartnerStore, Store

SCOPES = ("read", "plan", "dispatch")
KEY_PREFIX = "lck_"
PARTNER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class Partner:
    """An authenticated caller: the partner, the key it used and that key's scopes."""

    name: str
    key_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"partner:{self.name}"


def check_partner_name(name: str) -> str:
    """The partner name, or InputError when it is not 1 to 40 lower-case letters, digits, '_' or '-'."""
    if not PARTNER_PATTERN.match(name):
        raise InputError(f"partner name must be 1 to 40 lower-case letters, digits, '_' or '-' (starting with a letter or digit), got {name!r}")
    return name


def parse_scopes(text: str | Iterable[str]) -> frozenset[str]:
    """Scopes from ``read,plan,dispatch`` (InputError for an unknown or empty list)."""
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    scopes = frozenset(s for s in items if s)
    unknown = sorted(scopes - set(SCOPES))
    if unknown or not scopes:
        raise InputError(f"scopes must be a comma-separated list of {', '.join(SCOPES)}; got {','.join(items) or 'nothing'!r}")
    return scopes


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(keys: PartnerStore, partner: str, scopes: Iterable[str], note: str = "", now: int | None = None) -> tuple[str, ApiKey]:
    """Make and store a new key; returns the key itself (shown once, never stored) and its stored record."""
    check_partner_name(partner)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(key_id=key_id, partner=partner, scopes=parse_scopes(list(scopes)), created_at=int(time.time()) if now is None else now, note=note)
    keys.add_api_key(record, hash_key(key))
    return key, record


def authenticate(keys: PartnerStore, key: str | None) -> Partner | None:
    """The partner behind a key, or None for a missing, unknown or revoked key."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    record = keys.api_key_by_hash(hash_key(key))
    if record is None or not record.active:
        return None
    return Partner(name=record.partner, key_id=record.key_id, scopes=record.scopes)


# -- tenancy ----------------------------------------------------------------------------------


def stored_name(partner: str, world: str) -> str:
    """The store's name of a partner's world."""
    return f"{partner}{SEPARATOR}{world}"


def public_name(partner: str, stored: str) -> str:
    """The partner's own name of one of its stored worlds."""
    prefix = f"{partner}{SEPARATOR}"
    return stored[len(prefix) :] if stored.startswith(prefix) else stored


def partner_worlds(store: Store, partner: str) -> list[str]:
    """The partner's world names (as the partner names them), sorted."""
    prefix = f"{partner}{SEPARATOR}"
    return sorted(n[len(prefix) :] for n in store.world_names() if n.startswith(prefix))


def resolve_world(store: Store, partner: str, world: str) -> str:
    """The stored name of the partner's world ``world``; NotFound (listing only the partner's own worlds) otherwise."""
    own = partner_worlds(store, partner)
    if world not in own:
        raise NotFound("world", world, own)
    return stored_name(partner, world)


def hide_partner(text: str, partner: str) -> str:
    """A message with the partner's stored world names shown as the partner names them."""
    return text.replace(f"{partner}{SEPARATOR}", "")
