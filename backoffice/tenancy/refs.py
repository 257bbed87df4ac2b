"""Objects named by id in a request body (a manager, a warehouse, an order to refund): found in the
actor's shop and scope, or a 400 on that field. Another shop's id reads exactly like a missing one."""

from __future__ import annotations

from django.db.models import Model
from django.utils.translation import gettext as _

from backoffice.errors import ValidationFailed


def ref_in_shop(model: type[Model], *, actor, value, field: str, action: str | None = None, message: str | None = None):
    """The ``model`` row with pk ``value`` in the actor's shop (narrowed by ``restrict`` for ``action``
    when given), None when ``value`` is None, else ValidationFailed on ``field``."""
    from backoffice.authz import restrict
    from backoffice.parsing import parse_id

    if value is None or value == "":
        return None
    try:
        pk = parse_id(getattr(value, "pk", value), field)
    except ValidationFailed:
        pk = None  # not an id (a Unicode digit, past a bigint): names nothing, like a missing row
    queryset = model.objects.for_shop(actor.shop)
    if action is not None:
        queryset = restrict(queryset, actor, action)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        text = message or _("Unknown %(name)s.") % {"name": model._meta.verbose_name}
        raise ValidationFailed(text, fields={field: [text]})
    return found


def path_ids_or_404(kwargs: dict) -> None:
    """Every id in a URL (``shop``, ``pk``, ...) must fit a bigint: a 20-digit one names nothing (404),
    instead of reaching the database as an out-of-range value (a 500)."""
    from django.http import Http404

    from backoffice.parsing import BIGINT_MAX

    for value in kwargs.values():
        text = str(value)
        if text.isascii() and text.isdigit() and int(text) > BIGINT_MAX:
            raise Http404
