"""The shop's time zone: every time a member reads, and every "day" they name, is the shop's.

- a page or an API call of a shop runs with the shop's zone active (``backoffice.web.ShopPageMixin``,
  ``backoffice.api.views.ShopScopedViewMixin``): ``{{ value|date }}``, ``timezone.localtime``, DRF's
  ISO 8601 output (``+03:00``) and the day filters (``backoffice.parsing.parse_day_or_moment``) follow it;
- a Celery task that names a shop (``shop_id=`` in its keyword arguments: the convention every task
  follows) runs with that shop's zone active, so an export built by a worker writes the times, and reads
  ``date_from=<day>``, as the page that queued it did (see ``_task_started``);
- code that knows the shop but not whether a zone is active (a service run by the beat) asks
  ``shop_zone(shop)`` explicitly, or ``local_today``/``day_bounds`` with it.

The zone is always restored afterwards (``timezone.override``): a request or a task never leaves its
shop's zone behind for the next one served by the same thread.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import FileResponse
from django.utils import timezone

logger = logging.getLogger(__name__)
T = TypeVar("T")
UTC = ZoneInfo("UTC")


@functools.lru_cache(maxsize=1024)
def _zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None


def zone_named(name, *, shop_id=None) -> ZoneInfo:
    """The zone called ``name``; UTC, with a warning in the log, for a name this Python does not know (the
    settings refuse one, but a row may predate that, or the tz database may lose a name)."""
    zone = _zone_named(name) if isinstance(name, str) and name else None
    if zone is None:
        logger.warning("shop %s has an unknown time zone %r; using UTC", shop_id, name)
        return UTC
    return zone


def shop_zone(shop) -> ZoneInfo:
    """The shop's zone (its ``timezone`` field), UTC for an unknown one."""
    return zone_named(getattr(shop, "timezone", None), shop_id=getattr(shop, "pk", None))


def shop_timezone(shop) -> timezone.override:
    """``with shop_timezone(shop):`` the shop's zone is the current one, and what was current before is
    current again afterwards."""
    return timezone.override(shop_zone(shop))


def local_today(tz: tzinfo | None = None, *, now: datetime | None = None) -> date:
    """Today's date in ``tz`` (default: the current zone, the shop's in a shop request or task)."""
    return timezone.localdate(now or timezone.now(), tz or timezone.get_current_timezone())


def shop_today(shop, *, now: datetime | None = None) -> date:
    """The shop's calendar day now (or at ``now``), whatever zone is active: a worker, the beat and the
    integration API have no shop zone active, and 22:30 UTC on the 1st is the 2nd in Moscow."""
    return local_today(shop_zone(shop), now=now)


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The instants ``[start, end)`` of the calendar ``day`` in ``tz`` (default: the current zone):
    filter with ``__gte=start, __lt=end``. A day is not always 24 hours (a DST change); a midnight that
    does not exist (a zone that springs forward at 00:00) starts the day at the first instant that does."""
    zone = tz or timezone.get_current_timezone()
    start = datetime.combine(day, time.min).replace(tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=zone)
    # Normalise to UTC: comparing aware datetimes of one zone across a DST change compares wall clocks.
    return start.astimezone(UTC), end.astimezone(UTC)


def iterate_in_zone(items: Iterable[T], zone: tzinfo) -> Iterator[T]:
    """``items`` produced with ``zone`` active, step by step, and the zone released between steps: a
    streamed answer (a CSV download) is produced after the view has returned, while the server may
    interleave other work on this thread."""
    iterator = iter(items)
    while True:
        with timezone.override(zone):
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


def finish_in_zone(response, zone: tzinfo):
    """Produce what a response still has to produce with ``zone`` active: a template response is
    rendered now (Django would render it after the view, outside the zone), a streamed body is wrapped
    (a file's bytes need no zone and keep the server's fast path)."""
    if hasattr(response, "render") and callable(response.render) and not getattr(response, "is_rendered", True):
        with timezone.override(zone):
            response.render()
    elif (
        getattr(response, "streaming", False)
        and not isinstance(response, FileResponse)
        and not getattr(response, "is_async", False)
    ):
        response.streaming_content = iterate_in_zone(response.streaming_content, zone)
    return response


# ---------------------------------------------------------------------------------------------
# Celery tasks: the shop named by ``shop_id=`` sets the zone for the task's run.

_task_zones = threading.local()


def _tenant_zone_by_id(shop_id) -> ZoneInfo | None:
    from django.apps import apps
    from django.conf import settings

    from backoffice.parsing import BIGINT_MAX

    if isinstance(shop_id, bool) or not isinstance(shop_id, int) or not 0 < shop_id <= BIGINT_MAX:
        return None
    shops = apps.get_model(settings.TENANT_MODEL).objects.filter(pk=shop_id)
    name = shops.values_list("timezone", flat=True).first()
    return None if name is None else zone_named(name, shop_id=shop_id)


def _task_started(task_id=None, kwargs=None, **_ignored) -> None:
    """``task_prerun``: activate the zone of the shop the task names. Never raises (a task whose shop
    cannot be read fails on its own, with its own message); the stack is per thread, so a task run
    eagerly inside a request or another task restores the zone that was active around it."""
    stack = _task_zones.__dict__.setdefault("stack", [])
    override = None
    try:
        zone = _tenant_zone_by_id((kwargs or {}).get("shop_id"))
        if zone is not None:
            override = timezone.override(zone)
            override.__enter__()
    except Exception:
        logger.exception("could not activate the shop's time zone for task %s", task_id)
        override = None
    stack.append((task_id, override))


def _task_finished(task_id=None, **_ignored) -> None:
    """``task_postrun`` (sent after a failure too): put back the zone that was active before the task."""
    stack = getattr(_task_zones, "stack", None) or []
    if not any(entry_id == task_id for entry_id, _override in stack):
        return
    while stack:  # down to this task's entry (an inner one whose postrun was lost goes with it)
        entry_id, override = stack.pop()
        if override is not None:
            override.__exit__(None, None, None)
        if entry_id == task_id:
            return


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="backoffice.tenancy.zones.prerun")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="backoffice.tenancy.zones.postrun")
