from django import template

from backoffice.authz import can as can_check

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, action: str, obj=None) -> bool:
    """``{% can "accounts.manage_staff" as allowed %}`` - asks the one checker for the page's actor."""
    return can_check(context.get("actor"), action, obj)
