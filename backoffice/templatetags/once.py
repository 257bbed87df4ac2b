"""``{% once_token %}``: the hidden one-time token of a form that creates something (see backoffice/once.py)."""

from __future__ import annotations

from django import template
from django.core.exceptions import ImproperlyConfigured
from django.utils.html import format_html

from backoffice import once

register = template.Library()


@register.simple_tag(takes_context=True)
def once_token(context) -> str:
    request = context.get("request")
    if request is None:  # the token is the member's: a template rendered without its request cannot carry one
        raise ImproperlyConfigured("{% once_token %} needs the request in the template context")
    return format_html('<input type="hidden" name="{}" value="{}">', once.FIELD, once.issue(request.user.pk))
