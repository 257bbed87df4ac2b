from functools import cache

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import get_template


@cache
def nav_partials() -> tuple[str, ...]:
    """The sidebar partials that domain apps ship (``<app>/_nav.html``), in DOMAIN_APPS order."""
    found = []
    for app in settings.DOMAIN_APPS:
        name = f"{app}/_nav.html"
        try:
            get_template(name)
        except TemplateDoesNotExist:
            continue
        found.append(name)
    return tuple(found)


def shop_context(request):
    """Expose the resolved shop and actor (set by the shop view mixin) to templates."""
    actor = getattr(request, "actor", None)
    return {
        "actor": actor,
        "shop": getattr(actor, "shop", None),
        "nav_partials": nav_partials() if actor is not None else (),
    }
