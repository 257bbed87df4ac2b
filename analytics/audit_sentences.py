"""How the analytics app's audit entries read (found by ``backoffice.audit.sentences.discover``): report runs
(``analytics.services.runs``) and report schedules (``analytics.services.schedules``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from backoffice.audit.sentences import register_action, register_target

register_target(
    "analytics.reportrun", label=gettext_lazy("report"), model="analytics.ReportRun", view_action="analytics.view",
    name=lambda r: f"#{r.pk} ({r.report_type})", recorded=lambda words: words,
    url=lambda r: reverse("analytics:report_run", kwargs={"shop": r.shop_id, "pk": r.pk}),
)  # fmt: skip
register_action("report_run.created", gettext_lazy("Report run started"),
                gettext_lazy("%(actor)s ran the report %(target)s"))  # fmt: skip

register_target(
    "analytics.reportschedule", label=gettext_lazy("report schedule"), model="analytics.ReportSchedule",
    view_action="analytics.manage_schedules", name=lambda s: f"#{s.pk} ({s.report_type})",
    recorded=lambda words: words,
    url=lambda s: reverse("analytics:schedule_detail", kwargs={"shop": s.shop_id, "pk": s.pk}),
)  # fmt: skip
register_action("report_schedule.created", gettext_lazy("Report schedule created"),
                gettext_lazy("%(actor)s created the report schedule %(target)s"))  # fmt: skip
register_action("report_schedule.updated", gettext_lazy("Report schedule changed"),
                gettext_lazy("%(actor)s changed the report schedule %(target)s"))  # fmt: skip
register_action("report_schedule.paused", gettext_lazy("Report schedule paused"),
                gettext_lazy("%(actor)s paused the report schedule %(target)s"))  # fmt: skip
register_action("report_schedule.resumed", gettext_lazy("Report schedule resumed"),
                gettext_lazy("%(actor)s resumed the report schedule %(target)s"))  # fmt: skip
