"""How the ad campaign audit entries read. Imported by ``promotions/audit_sentences.py`` (the module
``backoffice.audit.sentences.discover`` finds), so that these registrations run once, as the promotions app's."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import changed_fields, field_labels, register_action, register_target

register_target(
    "promotions.adcampaign", label=gettext_lazy("ad campaign"), model="promotions.AdCampaign",
    view_action="promotions.view", name=lambda c: c.name, recorded=lambda words: words,
    url=lambda c: reverse("promotions:ad_campaign_detail", kwargs={"shop": c.shop_id, "pk": c.pk}),
)  # fmt: skip

register_action("ad_campaign.created", gettext_lazy("Ad campaign created"),
                gettext_lazy("%(actor)s created the ad campaign %(target)s"))  # fmt: skip
register_action(
    "ad_campaign.updated", gettext_lazy("Ad campaign changed"), gettext_lazy("%(actor)s changed %(target)s: %(fields)s"),
    values=lambda e: {"fields": changed_fields(e, field_labels("promotions.AdCampaign"))},
)  # fmt: skip
register_action("ad_campaign.activated", gettext_lazy("Ad campaign activated"),
                gettext_lazy("%(actor)s activated %(target)s"))  # fmt: skip
register_action("ad_campaign.paused", gettext_lazy("Ad campaign paused"), gettext_lazy("%(actor)s paused %(target)s"))
register_action("ad_campaign.ended", gettext_lazy("Ad campaign ended"), gettext_lazy("%(actor)s ended %(target)s"))
register_action("ad_campaign.window_ended", gettext_lazy("Ad campaign ended with its schedule"),
                gettext_lazy("%(target)s ended at the end of its schedule"))  # fmt: skip
register_action(
    "ad_stat.pushed", gettext_lazy("Ad figures received"),
    gettext_lazy("%(actor)s sent the figures of %(day)s for %(target)s (spend %(spend)s)"),
    values=lambda e: {"day": e.after("day") or "—", "spend": e.after("spend") or "—"},
)  # fmt: skip
