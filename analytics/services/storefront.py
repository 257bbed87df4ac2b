"""Storefront events pushed by the marketplace (the integration API): ``storefront_events_record``.

A batch is all or nothing: every row is checked first (a bad row is a 400 naming ``events.<n>.<field>``), then
the batch key and the day counters are written in one transaction. A batch key seen before adds nothing: the
same events get the first answer back (``created`` False), other events under that key are a 409.
See ``analytics.models.storefront`` for why the events are kept as daily counters.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from analytics.models import StorefrontBatch, StorefrontDay
from backoffice.authz import Actor, require
from backoffice.errors import Conflict, Forbidden, ValidationFailed
from backoffice.tenancy.zones import shop_zone
from catalog import selectors as catalog_selectors

MAX_EVENTS = 1000
KINDS = ("view", "cart", "order")
COUNTER = {"view": "views", "cart": "carts", "order": "orders"}
FIELDS = frozenset({"sku", "kind", "at", "session"})
KEY_MAX = 64
SESSION_MAX = 128
MAX_AGE_DAYS = 731  # as far back as a report reaches (backoffice.reports.MAX_PERIOD_DAYS)
CLOCK_SKEW = timedelta(minutes=10)  # a storefront's clock may run a little ahead of ours
MAX_ERRORS = 20  # the rows named in one answer


def _key(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        message = _("This field is required.")
        raise ValidationFailed(message, fields={"batch": [message]})
    if len(text) > KEY_MAX:
        message = _("At most %(n)s characters.") % {"n": KEY_MAX}
        raise ValidationFailed(message, fields={"batch": [message]})
    return text


def _moment(value: Any) -> datetime | None:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    # A time without its offset would be read in some zone we would have to guess: refused.
    return moment if moment is not None and not timezone.is_naive(moment) else None


def _clean(shop, events: Any, now: datetime) -> list[tuple[int, str, datetime]]:
    """(sku id, kind, at) per event, or ValidationFailed naming every bad row's field (up to MAX_ERRORS)."""
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        message = _("Send a list of 1 to %(n)s events.") % {"n": MAX_EVENTS}
        raise ValidationFailed(message, fields={"events": [message]})
    errors: dict[str, list[str]] = {}

    def bad(row: int, field: str, message: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.setdefault(f"events.{row}.{field}", []).append(message)

    codes = {e["sku"] for e in events if isinstance(e, dict) and isinstance(e.get("sku"), str) and e["sku"]}
    skus = catalog_selectors.skus_by_code(shop=shop, codes=codes)
    oldest = now - timedelta(days=MAX_AGE_DAYS)
    out: list[tuple[int, str, datetime]] = []
    for row, event in enumerate(events):
        if not isinstance(event, dict):
            bad(row, "event", _("Send a JSON object."))
            continue
        for unknown in sorted(set(event) - FIELDS, key=str):
            bad(row, str(unknown)[:40], _("Unknown."))
        sku = skus.get(event.get("sku")) if isinstance(event.get("sku"), str) else None
        if sku is None:
            # Another shop's code reads as unknown: nothing tells the caller it exists elsewhere.
            bad(row, "sku", _("Unknown SKU.") if event.get("sku") else _("This field is required."))
        kind = event.get("kind")
        if kind not in KINDS:
            bad(row, "kind", _("Choose one of: %(v)s") % {"v": ", ".join(KINDS)})
        at = _moment(event.get("at"))
        if at is None:
            bad(row, "at", _("Use an ISO date-time with its offset, e.g. 2026-11-30T18:05:00+03:00."))
        elif not oldest <= at <= now + CLOCK_SKEW:
            bad(row, "at", _("Must be within the last %(days)s days and not in the future.") % {"days": MAX_AGE_DAYS})
        session = event.get("session")
        if session is not None and (not isinstance(session, str) or len(session) > SESSION_MAX):
            bad(row, "session", _("At most %(n)s characters.") % {"n": SESSION_MAX})
        if sku is not None and kind in KINDS and at is not None:
            out.append((sku.pk, kind, at))
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)
    return out


def _fingerprint(events: list) -> str:
    body = json.dumps(events, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _answer(batch: StorefrontBatch) -> dict[str, Any]:
    return {"batch": batch.key, "events": batch.events, "skus": batch.skus, "received_at": batch.received_at}


def _add_counters(shop_id: int, counters: dict[tuple, dict[str, int]]) -> None:
    """One upsert adding the batch's counts to the day rows (created when missing). Rows in key order, so two
    batches touching the same rows lock them in the same order. The statement is the same on PostgreSQL and
    SQLite (both have ``INSERT … ON CONFLICT … DO UPDATE`` with ``excluded``)."""
    table = StorefrontDay._meta.db_table
    rows = sorted(counters.items())
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for (day, sku_id), count in rows:
        params += [shop_id, day, sku_id, count["views"], count["carts"], count["orders"]]
    sql = (
        f"INSERT INTO {table} (shop_id, day, sku_id, views, carts, orders) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (shop_id, day, sku_id) DO UPDATE SET views = {table}.views + excluded.views, "
        f"carts = {table}.carts + excluded.carts, orders = {table}.orders + excluded.orders"
    )  # the table name is the model's; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def storefront_events_record(*, actor: Actor, batch: Any, events: Any) -> tuple[dict[str, Any], bool]:
    """Record a batch of storefront events ``[{"sku": code, "kind": "view"|"cart"|"order", "at": ISO date-time
    with offset, "session"?: str}]`` (1 to ``MAX_EVENTS``) under the client's ``batch`` key. Platform code only
    (``system_actor(shop, user=<the integration's user>)``).

    Returns ``(answer, created)``: ``created`` False when the key was recorded before with the same events
    (nothing is added twice); the same key with other events is a 409 ``batch_reused``."""
    require(actor, "catalog.view")
    if not actor.is_system:
        raise Forbidden(_("Only the marketplace integration may do this."), code="platform_only")
    shop = actor.shop
    key = _key(batch)
    now = timezone.now()
    cleaned = _clean(shop, events, now)
    fingerprint = _fingerprint(events)
    zone = shop_zone(shop)
    counters: dict[tuple, dict[str, int]] = defaultdict(lambda: {"views": 0, "carts": 0, "orders": 0})
    for sku_id, kind, at in cleaned:
        counters[(timezone.localtime(at, zone).date(), sku_id)][COUNTER[kind]] += 1
    with transaction.atomic():
        try:
            # The key first: a concurrent twin waits here on the unique index, then finds it taken below.
            with transaction.atomic():
                record = StorefrontBatch.objects.for_shop(shop).create(
                    shop=shop, key=key, fingerprint=fingerprint, events=len(cleaned),
                    skus=len({sku_id for sku_id, _kind, _at in cleaned}), received_by=actor.audit_user,
                    received_at=now,
                )  # fmt: skip
        except IntegrityError:
            record = None
        if record is None:
            earlier = StorefrontBatch.objects.for_shop(shop).get(key=key)
            if earlier.fingerprint != fingerprint:
                message = _("This batch id was already used for other events.")
                raise Conflict(message, code="batch_reused", fields={"batch": [message]})
            return _answer(earlier), False
        _add_counters(shop.pk, counters)
    return _answer(record), True
