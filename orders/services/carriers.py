"""The shop's carrier list: add, edit, deactivate (a carrier is never deleted: orders keep their link to
it), and how a pack names its carrier.

Who keeps the list: ``accounts.manage_settings`` (SPEC names no shipping action; the carriers a shop
works with are one of its settings). Whoever may see orders may read the list; whoever may pack picks
from it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from backoffice.audit import audit_record, diff
from backoffice.authz import Actor, in_shop, require
from backoffice.errors import NotFound, ValidationFailed
from orders import selectors
from orders.models import Carrier

MANAGE = "accounts.manage_settings"
CARRIER_FIELDS = ("name", "code", "tracking_url", "is_active")


def _clean(*, name: str, code: str, tracking_url: str) -> dict[str, str]:
    name, code, tracking_url = (name or "").strip(), (code or "").strip(), (tracking_url or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 80:
        errors["name"] = [_("At most %(n)s characters.") % {"n": 80}]
    if not code:
        errors["code"] = [_("This field is required.")]
    elif len(code) > 32 or any(c.isspace() for c in code):
        errors["code"] = [_("Up to 32 characters, without spaces.")]
    if tracking_url and (problem := tracking_url_problem(tracking_url)):
        errors["tracking_url"] = [problem]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return {"name": name, "code": code, "tracking_url": tracking_url}


def tracking_url_problem(pattern: str) -> str | None:
    """Why a tracking-URL pattern cannot be used, or None: an http(s) address holding ``{tracking}`` where the
    number goes (the link must lead to a web page: no ``javascript:``, no ``mailto:``)."""
    if len(pattern) > 500:
        return _("At most %(n)s characters.") % {"n": 500}
    placeholder = Carrier.TRACKING_PLACEHOLDER
    if placeholder not in pattern:
        return _("Put %(placeholder)s where the tracking number goes.") % {"placeholder": placeholder}
    example = pattern.replace(placeholder, "TRACK123")
    if urlsplit(example).scheme.lower() not in ("http", "https"):
        return _("Use a web address starting with http:// or https://.")
    try:
        URLValidator(schemes=["http", "https"])(example)
    except ValidationError:
        return _("Use a web address starting with http:// or https://.")
    return None


def _taken(shop, *, name: str, code: str, exclude: int | None = None) -> None:
    others = Carrier.objects.for_shop(shop).exclude(pk=exclude) if exclude else Carrier.objects.for_shop(shop)
    errors = {}
    if others.annotate(n=Lower("name")).filter(n=name.lower()).exists():
        errors["name"] = [_("The shop already has a carrier with this name.")]
    if others.annotate(c=Lower("code")).filter(c=code.lower()).exists():
        errors["code"] = [_("The shop already has a carrier with this code.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)


def _race_lost(shop, fields: dict[str, Any], exclude: int | None) -> ValidationFailed:
    """Another request took the name or code at the same moment (the unique constraints said so)."""
    try:
        _taken(shop, name=fields["name"], code=fields["code"], exclude=exclude)
    except ValidationFailed as exc:
        return exc
    message = _("The shop already has a carrier with this name.")
    return ValidationFailed(message, fields={"name": [message]})


def carrier_create(*, actor: Actor, name: str, code: str, tracking_url: str = "") -> Carrier:
    """A new carrier on the shop's list (active). Name and code are unique in the shop, letter case aside."""
    require(actor, MANAGE)
    shop = actor.shop
    fields = _clean(name=name, code=code, tracking_url=tracking_url)
    try:
        with transaction.atomic():
            _taken(shop, **{k: fields[k] for k in ("name", "code")})
            carrier = Carrier.objects.for_shop(shop).create(shop=shop, **fields)
            audit_record(shop=shop, actor=actor, action="carrier.created", target=carrier,
                         changes=diff({}, {**fields, "is_active": True}))  # fmt: skip
    except IntegrityError:
        raise _race_lost(shop, fields, None) from None
    return carrier


def _locked(actor: Actor, carrier: Carrier) -> Carrier:
    in_shop(actor, carrier)
    locked = Carrier.objects.for_shop(actor.shop).select_for_update().filter(pk=carrier.pk).first()
    if locked is None:
        raise NotFound(_("Not found."))
    return locked


def carrier_update(*, actor: Actor, carrier: Carrier, name: str, code: str, tracking_url: str = "",
                   is_active: bool = True) -> Carrier:  # fmt: skip
    """Rename, recode, change the tracking page or (re)activate a carrier. Orders already packed keep the
    name they were packed with (a snapshot) and their link to the carrier (whose page they now point at)."""
    require(actor, MANAGE, carrier)
    shop = actor.shop
    fields = {**_clean(name=name, code=code, tracking_url=tracking_url), "is_active": bool(is_active)}
    try:
        with transaction.atomic():
            carrier = _locked(actor, carrier)
            before = {k: getattr(carrier, k) for k in CARRIER_FIELDS}
            _taken(shop, name=fields["name"], code=fields["code"], exclude=carrier.pk)
            for key, value in fields.items():
                setattr(carrier, key, value)
            changes = diff(before, fields)
            if changes:
                carrier.save(update_fields=list(changes))
                audit_record(shop=shop, actor=actor, action="carrier.updated", target=carrier, changes=changes)
    except IntegrityError:
        raise _race_lost(shop, fields, carrier.pk) from None
    return carrier


def carrier_deactivate(*, actor: Actor, carrier: Carrier) -> Carrier:
    """Take a carrier off the pack forms. It stays on the list (inactive) and on the orders packed with it;
    it can be activated again from its edit form."""
    require(actor, MANAGE, carrier)
    with transaction.atomic():
        carrier = _locked(actor, carrier)
        if carrier.is_active:
            carrier.is_active = False
            carrier.save(update_fields=["is_active"])
            audit_record(shop=actor.shop, actor=actor, action="carrier.deactivated", target=carrier,
                         changes={"is_active": [True, False]})  # fmt: skip
    return carrier


def carrier_for_pack(
    *, actor: Actor, value: Carrier | str | None, field: str = "carrier"
) -> tuple[Carrier | None, str]:
    """The carrier a pack names, as (the list's carrier or None, the name the order keeps).

    A shop that keeps a carrier list packs only with its active carriers: the page forms send the carrier
    itself, an integrator its name or code (letter case aside); anything else is a 400 on ``field``. A
    shop without a list keeps free text (what integrators sent before lists existed)."""
    shop = actor.shop
    if isinstance(value, Carrier):
        # Read again: the form was rendered a while ago, the carrier may have been deactivated since.
        fresh = Carrier.objects.for_shop(shop).filter(pk=value.pk, is_active=True).first()
        if fresh is None:
            raise _unknown_carrier(shop, field)
        return fresh, fresh.name
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(_("Give the carrier and the tracking number."),
                               fields={field: [_("This field is required.")]})  # fmt: skip
    if not selectors.shop_has_carriers(shop=shop):
        return None, text[:80]
    carrier = selectors.carrier_match(shop=shop, value=text)
    if carrier is None:
        raise _unknown_carrier(shop, field)
    return carrier, carrier.name


def _unknown_carrier(shop, field: str) -> ValidationFailed:
    names = ", ".join(c.name for c in selectors.carrier_choices(shop=shop)[:20])
    message = _("Unknown carrier: choose one of the shop's carriers (%(names)s).") % {"names": names or "—"}
    return ValidationFailed(message, code="unknown_carrier", fields={field: [message]})
