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
    memberships = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        from accounts.selectors import membership_list_for_user

        memberships = membership_list_for_user(user=request.user)
    unread = 0
    if actor is not None:
        from accounts.selectors import notification_unread_count

        unread = notification_unread_count(shop=actor.shop, actor=actor)
    return {
        "unread_notifications": unread,
        "actor": actor,
        "shop": getattr(actor, "shop", None),
        "my_memberships": memberships,
        "nav_partials": nav_partials() if actor is not None else (),
    }
