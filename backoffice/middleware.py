from __future__ import annotations

import contextvars
import uuid

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def client_ip(request) -> str | None:
    # Behind a proxy in production the first X-Forwarded-For hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) for audit entries and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.META.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
        request.request_id = rid[:64]
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
