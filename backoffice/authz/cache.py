"""Who is calling, cached in Redis: the personal token (with its user) and the actor (membership, shop,
role, grants, scopes). Every shop request needs both, and reading them from PostgreSQL through the ORM
cost more than the page it guards (bench/bench_orders.py).

Correctness rests on generation counters, never on deleting entries:

- each entry is stored with the generations it was read under: the shop's and the user's for an actor,
  the token's own for a token;
- anything that changes access bumps a generation (``shop_changed``, ``user_changed``, ``token_changed``):
  model signals in ``accounts.signals`` catch saves and deletes, and the services that write grants in
  bulk call these directly;
- a reader fetches the generations in the same round trip as the entry, *before* it would read the
  database, so an entry written from rows that were already stale carries an old generation and is
  never served. A bump happens at once and again on commit: the first covers work that never commits
  (tests), the second closes the window in which a reader could cache the rows just before commit.

Generations start at a random value, so an entry can't match a counter that was lost and recreated.
Without Redis (the embedded default) nothing is cached: a per-process cache can't see another worker's
bump. A membership past its ``expires_at`` is refused on a cache hit as on a database read.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import secrets
from collections.abc import Callable
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice import kv

ENTRY_TTL = 600


@functools.cache
def _prefix() -> str:
    # Entries are pickled model instances: a deploy that changes these models, or Django, must not read old ones.
    models = [apps.get_model(label) for label in settings.ACCESS_CACHE_MODELS]
    shape = repr([django.VERSION] + [[f.attname for f in m._meta.concrete_fields] for m in models])
    fingerprint = hashlib.sha256(shape.encode()).hexdigest()[:10]
    return f"authz:{fingerprint}:{settings.DATABASES['default']['NAME']}:"


def enabled() -> bool:
    return kv.client() is not None


def _gen_key(kind: str, ident: Any) -> str:
    return f"{_prefix()}g:{kind}:{ident}"


def _bump(*keys: str) -> None:
    client = kv.client()
    if client is None or not keys:
        return

    def bump() -> None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, secrets.randbits(62), nx=True)
            pipe.incr(key)
        pipe.execute()

    bump()
    transaction.on_commit(bump)


def shop_changed(*shop_ids: int) -> None:
    """Settings, memberships, roles or grants of these shops changed: their actors must be re-read."""
    _bump(*(_gen_key("s", pk) for pk in shop_ids))


def user_changed(*user_ids: int) -> None:
    """The user row changed (active, staff): every actor of theirs must be re-read."""
    _bump(*(_gen_key("u", pk) for pk in user_ids))


def token_changed(*key_hashes: str) -> None:
    _bump(*(_gen_key("t", h) for h in key_hashes))


def _cached(entry_key: str, gen_keys: list[str], load: Callable[[], Any]) -> Any:
    """The value under ``entry_key`` if it was stored under the current generations, else ``load()``
    (stored for the next request when it is not None)."""
    client = kv.client()
    if client is None:
        return load()
    raw, *gens = client.mget([entry_key, *gen_keys])
    if None in gens:
        # First sight of this shop/user/token (or Redis lost it): start the counters, serve from the database.
        pipe = client.pipeline(transaction=False)
        for key, gen in zip(gen_keys, gens, strict=True):
            if gen is None:
                pipe.set(key, secrets.randbits(62), nx=True)
        pipe.execute()
        return load()
    if raw is not None:
        # Our own Redis, written only by this module (as Django's Redis cache does).
        stored_gens, value = pickle.loads(raw)  # noqa: S301
        if stored_gens == gens:
            return value
    value = load()
    if value is not None:
        client.set(entry_key, pickle.dumps((gens, value), pickle.HIGHEST_PROTOCOL), ex=ENTRY_TTL)
    return value


def token_for_hash(key_hash: str, load: Callable[[], Any]):
    """The ApiToken (its user loaded) with this key hash, or None."""
    return _cached(f"{_prefix()}t:{key_hash}", [_gen_key("t", key_hash)], load)


def token_touched(token) -> None:
    """``last_used_at`` was written (without a save signal): refresh the cached copy, same generation."""
    client = kv.client()
    if client is None:
        return
    entry_key = f"{_prefix()}t:{token.key_hash}"
    raw = client.get(entry_key)
    if raw is not None:
        gens, _old = pickle.loads(raw)  # noqa: S301
        client.set(entry_key, pickle.dumps((gens, token), pickle.HIGHEST_PROTOCOL), ex=ENTRY_TTL)


def membership_for(user, shop_id: int, load: Callable[[], Any]):
    """The active membership of ``user`` in ``shop_id`` with its shop and role loaded, and its grants
    (``(membership, permissions, scopes)``), or None."""
    entry = _cached(f"{_prefix()}a:{user.pk}:{shop_id}", [_gen_key("s", shop_id), _gen_key("u", user.pk)], load)
    if entry is None:
        return None
    membership = entry[0]
    if membership.expires_at is not None and membership.expires_at <= timezone.now():
        return None
    return entry
