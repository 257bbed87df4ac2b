"""The simulation on the promotion pages (``promotions.simulation``): the detail page's "Simulate" card for a
promotion not running yet (draft, paused, scheduled) — a GET form, ``?days=7|30|90`` — and, on the create/edit
form, the simulation of the draft being edited beside the quote preview (the unsaved promotion the preview
builds, ``backend._draft``). Thin: the selector does the work; a bad ``days`` is its 400 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from backoffice.authz import Actor
from backoffice.errors import ValidationFailed
from promotions import simulation
from promotions.models import Promotion
from promotions.web import backend

# The statuses in which the detail page offers the card: before it runs, or while it does not.
OFFERED = (Promotion.Status.DRAFT, Promotion.Status.PAUSED, Promotion.Status.SCHEDULED)


def simulation_card(*, actor: Actor, promotion: Promotion, status: str, params) -> dict | None:
    """The detail page's card (None when not offered: a running or ended promotion, or a member who may not
    activate it). Runs the simulation when ``days`` is in the query string."""
    if status not in OFFERED or not simulation.may_simulate(actor=actor, promotion=promotion):
        return None
    card: dict[str, Any] = {"days": simulation.DEFAULT_DAYS, "choices": simulation.DAYS, "result": None}
    if "days" in params:
        card["result"] = simulation.promotion_simulation(actor=actor, promotion=promotion, days=params.get("days"))
        card["days"] = card["result"].days
    return card


def preview_simulation(*, actor: Actor, kind: str, form, tiers, promotion: Promotion | None, fields_of: Callable,
                       days: Any) -> dict:  # fmt: skip
    """The form's simulation of the promotion as filled in (unsaved): ``{"simulation": {...}}`` with ``result`` or
    ``error`` (what to fix), for the preview template."""
    out: dict[str, Any] = {"days": simulation.DEFAULT_DAYS, "choices": simulation.DAYS, "result": None}
    try:
        out["days"] = simulation.parse_days(days)
    except ValidationFailed as exc:
        return {"simulation": {**out, "error": [exc.message]}}
    if not form.is_valid() or (tiers is not None and not tiers.is_valid()):
        return {"simulation": {**out, "error": [_("Fix the promotion's fields first.")]}}
    try:
        draft = backend._draft(actor=actor, kind=kind, fields=fields_of(form, tiers), promotion=promotion)
        out["result"] = simulation.simulate(shop=actor.shop, promotion=draft, days=out["days"])
    except ValidationFailed as exc:
        return {"simulation": {**out, "error": [f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items()]
                               or [exc.message]}}  # fmt: skip
    except ValueError as exc:  # the engine refuses a rule it cannot apply (the form let it through)
        return {"simulation": {**out, "error": [str(exc)]}}
    return {"simulation": out}
