"""The shop dashboard's cards, contributed by each domain app.

An app ships ``<app>/dashboard.py`` with ``cards(actor) -> list[Card]`` showing what needs the
member's attention in its domain, and only what the member may see. The dashboard shows them in
``DOMAIN_APPS`` order, so a new app (promotions, payouts, support, analytics) adds its cards without
touching accounts.

An app may also ship ``panels(actor) -> list[Panel]`` in the same module: larger blocks (the analytics sales
figures and chart) rendered above the cards, each from its own template with its own context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backoffice.plugins import app_modules


@dataclass(frozen=True)
class Card:
    key: str  # stable id for tests and styling
    label: str
    value: int | str
    url: str = ""
    # "attention" when the number means work is waiting (non-zero overdue orders, open alerts, ...)
    tone: str = ""


@dataclass(frozen=True)
class Panel:
    template: str  # rendered with ``context`` (plus the page's own: ``shop``, ``actor``)
    context: dict[str, Any] = field(default_factory=dict)


def _modules() -> tuple:
    return app_modules("dashboard")


def _providers() -> tuple:
    return tuple(module.cards for module in _modules() if hasattr(module, "cards"))


def cards_for(actor) -> list[Card]:
    return [card for provider in _providers() for card in provider(actor)]


def panels_for(actor) -> list[Panel]:
    """The panels of every app that provides ``panels(actor)``, in ``DOMAIN_APPS`` order."""
    return [panel for module in _modules() if hasattr(module, "panels") for panel in module.panels(actor)]
