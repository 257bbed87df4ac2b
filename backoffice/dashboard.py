"""The shop dashboard's cards, contributed by each domain app.

An app ships ``<app>/dashboard.py`` with ``cards(actor) -> list[Card]`` showing what needs the
member's attention in its domain, and only what the member may see. The dashboard shows them in
``DOMAIN_APPS`` order, so a new app (promotions, payouts, support, analytics) adds its cards without
touching accounts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from django.conf import settings


@dataclass(frozen=True)
class Card:
    key: str  # stable id for tests and styling
    label: str
    value: int | str
    url: str = ""
    # "attention" when the number means work is waiting (non-zero overdue orders, open alerts, ...)
    tone: str = ""


@cache
def _providers() -> tuple:
    found = []
    for app in settings.DOMAIN_APPS:
        try:
            module = importlib.import_module(f"{app}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.dashboard":
                raise
            continue
        found.append(module.cards)
    return tuple(found)


def cards_for(actor) -> list[Card]:
    return [card for provider in _providers() for card in provider(actor)]
