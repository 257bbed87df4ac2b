"""One error format for the whole API: ``{"error": {"code", "message", "fields"}}``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backoffice.errors import ServiceError
from backoffice.tenancy.models import UnscopedQueryError


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list):
                msgs = []
                for i, v in enumerate(value):
                    if isinstance(v, dict):
                        for sub, m in _flatten(v).items():
                            out[f"{key}[{i}].{sub}"] = m
                    else:
                        msgs.append(str(v))
                if msgs:
                    out[key] = msgs
            else:
                out[key] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {}


def error_response(status_code: int, code: str, message: str, fields: dict | None = None, headers=None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status_code, headers=headers
    )


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return error_response(exc.status_code, exc.code, exc.message, exc.fields)
    if isinstance(exc, UnscopedQueryError):
        raise exc
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()), ["Invalid input."])[0]
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid", first, fields)
    detail = getattr(exc, "detail", "")
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    headers = {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    return error_response(response.status_code, str(code), str(detail), headers=headers)
