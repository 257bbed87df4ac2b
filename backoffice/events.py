"""Domain events inside one process: an app publishes, the apps built on it subscribe.

Orders must not import the apps built on it (payouts books a delivered order's sale, a refund's debit), so
orders calls ``publish`` here and those apps ``subscribe`` in their ``AppConfig.ready``, as promotions plugs
into ``backoffice.pricing``. Handlers run synchronously, **inside the publisher's transaction**, in the order
they subscribed: what a handler writes commits or rolls back with the change that raised the event, and an
exception from a handler aborts that change (a ledger that cannot book a sale must not let the order be
delivered without it). A handler must therefore be quick and must not call the publisher back.

Events published today (payload keys; every event also gets ``shop``):

- ``order.<kind>`` after each move of the order state machine (``order.confirmed``, ``order.packed``,
  ``order.shipped``, ``order.delivered``, ``order.cancelled``): ``order`` (the row as moved). ``order.delivered``
  also comes from a carrier's tracking event;
- ``order.refunded``: ``order`` (with the new ``refunded_total``) and ``refund`` (the new refund row);
- ``order.changed`` after every line of an order's timeline (intake, each move, returns, refunds, delivery), once
  its rows are written: ``order`` and ``kind`` (analytics recomputes the order's share of its daily rollups);
- ``stock.moved`` for every stored stock movement (catalog): ``movements`` (the rows, with their ids).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]

_handlers: dict[str, list[Handler]] = {}


def subscribe(event: str, handler: Handler) -> None:
    """Call ``handler(**payload)`` on every ``publish(event, ...)``. Subscribing the same handler twice (an app
    whose ``ready`` runs again in a test) keeps one subscription."""
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _handlers.get(event, []):
        _handlers[event].remove(handler)


def publish(event: str, /, **payload: Any) -> None:
    """Run every handler of ``event`` now, in the caller's transaction; nothing happens without subscribers."""
    for handler in tuple(_handlers.get(event, ())):
        handler(**payload)


def subscribers(event: str) -> tuple[Handler, ...]:
    return tuple(_handlers.get(event, ()))
