from __future__ import annotations

import contextvars
import functools
import ipaddress
import re
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@functools.cache
def _trusted_proxies() -> tuple:
    return tuple(ipaddress.ip_network(net, strict=False) for net in settings.TRUSTED_PROXIES)


def _ip(value: str | None):
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def _is_trusted(ip) -> bool:
    return any(ip in net for net in _trusted_proxies())


def client_ip(request) -> str | None:
    """The caller's address for audit entries, lockout and rate limits.

    ``X-Forwarded-For`` is believed only when the connection comes from a configured proxy
    (``TRUSTED_PROXIES``, none by default): the hops are read from the right, past every trusted proxy,
    and the first other valid address is the client. Anything unparsable falls back to the peer."""
    peer = _ip(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    if not _is_trusted(peer):
        return str(peer)
    for hop in reversed((request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        ip = _ip(hop)
        if ip is None:
            break
        if not _is_trusted(ip):
            return str(ip)
    return str(peer)


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) for audit entries and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A caller's id is kept only when it is a plain token (it lands in logs and the audit trail).
        rid = request.META.get("HTTP_X_REQUEST_ID") or ""
        request.request_id = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        t1 = request_id_var.set(request.request_id)
        t2 = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(t1)
            client_ip_var.reset(t2)
        response["X-Request-ID"] = request.request_id
        return response


class RejectNulCharactersMiddleware:
    """PostgreSQL cannot hold or compare a NUL character: an address whose query string carries one is
    refused with 400 before any filter sees it. (Forms and serializers already refuse NULs in bodies.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = _("The address contains a character that is not allowed (NUL).")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "bad_request", "message": message, "fields": {}}}, status=400)
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers every response carries:

    - ``Content-Security-Policy`` (``settings.CONTENT_SECURITY_POLICY``): scripts only from this site, so an
      injected ``<script>`` or ``onclick=`` does not run. Pages declare behaviour with data attributes
      (``static/js/app.js``). The Django admin and the API docs page, which ship inline scripts of their
      own, are left to their own pages' rules.
    - ``Cache-Control: no-store`` on everything under a shop (pages, API, integration intake): buyer contact, costs and
      money must not stay in a shared or browser cache.
    """

    SHOP_PREFIXES = ("/shops/", "/api/v1/shops/", "/api/v1/integration/shops/")
    CSP_EXEMPT_PREFIXES = ("/admin/", "/api/docs/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and not path.startswith(self.CSP_EXEMPT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", policy)
        if path.startswith(self.SHOP_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response
