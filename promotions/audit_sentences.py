"""How the promotions app's audit entries read (found by ``backoffice.audit.sentences.discover``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import changed_fields, field_labels, register_action, register_target
from promotions import ads_audit_sentences  # noqa: F401  (the ad campaigns' sentences register on import)

register_target(
    "promotions.promotion", label=gettext_lazy("promotion"), model="promotions.Promotion",
    view_action="promotions.view", name=lambda p: p.name, recorded=lambda words: words,
    url=lambda p: reverse("promotions:promotion_detail", kwargs={"shop": p.shop_id, "pk": p.pk}),
)  # fmt: skip
register_target(
    "promotions.promotionsettings", label=gettext_lazy("promotion settings"), model="promotions.PromotionSettings",
    view_action=None, name=lambda s: str(gettext_lazy("promotion settings")),
    recorded=lambda words: str(gettext_lazy("promotion settings")),
)  # fmt: skip

register_action("promotion.created", gettext_lazy("Promotion created"),
                gettext_lazy("%(actor)s created the promotion %(target)s"))  # fmt: skip
register_action(
    "promotion.updated", gettext_lazy("Promotion changed"), gettext_lazy("%(actor)s changed %(target)s: %(fields)s"),
    values=lambda e: {"fields": changed_fields(e, field_labels("promotions.Promotion"))},
)  # fmt: skip
register_action("promotion.activated", gettext_lazy("Promotion activated"),
                gettext_lazy("%(actor)s activated %(target)s"))  # fmt: skip
register_action("promotion.paused", gettext_lazy("Promotion paused"), gettext_lazy("%(actor)s paused %(target)s"))
register_action("promotion.ended", gettext_lazy("Promotion ended"), gettext_lazy("%(actor)s ended %(target)s"))
register_action(
    "promotion.auto_paused", gettext_lazy("Promotion paused by a guardrail"),
    gettext_lazy("%(actor)s paused %(target)s: %(reason)s"),
    values=lambda e: {"reason": {"limit_reached": gettext_lazy("usage limit reached"),
                                 "budget_spent": gettext_lazy("budget spent")}.get(e.after("paused_reason"), "—")},
)  # fmt: skip
register_action("promotion.auto_resumed", gettext_lazy("Promotion resumed by a guardrail"),
                gettext_lazy("%(actor)s resumed %(target)s: a cancelled order gave back its usage or budget"))  # fmt: skip
register_action("promotion.started", gettext_lazy("Promotion started"), gettext_lazy("%(target)s started"))
register_action("promotion.window_ended", gettext_lazy("Promotion ended with its window"),
                gettext_lazy("%(target)s ended at the end of its window"))  # fmt: skip
register_action(
    "promotion.codes_generated", gettext_lazy("Promotion codes generated"),
    gettext_lazy("%(actor)s generated %(count)s single-use codes for %(target)s"),
    values=lambda e: {"count": e.after("codes") or "—"},
)  # fmt: skip
register_action(
    "promotion.codes_exported", gettext_lazy("Promotion codes downloaded"),
    gettext_lazy("%(actor)s downloaded %(which)s of %(target)s (%(format)s)"),
    values=lambda e: {
        "which": {"unused": gettext_lazy("the unused single-use codes"),
                  "used": gettext_lazy("the used single-use codes")}.get(e.after("status"),
                                                                         gettext_lazy("all single-use codes")),
        "format": str(e.after("format") or "csv").upper()},
)  # fmt: skip
register_action(
    "promotion_settings.updated", gettext_lazy("Promotion settings changed"),
    gettext_lazy("%(actor)s set the maximum discount per order to %(cap)s%%"),
    values=lambda e: {"cap": e.after("max_discount_percent") or "—"},
)  # fmt: skip
register_action(
    "price_floor.updated", gettext_lazy("Price floor changed"),
    gettext_lazy("%(actor)s set a minimum price of %(price)s for %(target)s"),
    values=lambda e: {"price": e.after("min_price") or "—"},
)  # fmt: skip
