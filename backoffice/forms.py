"""Shared form helpers for the pages of every app."""

from __future__ import annotations

from django import forms

from backoffice.errors import ServiceError


def apply_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Show a service's refusal on the form: on its fields when it names them, else on top."""
    placed = {f: m for f, m in (exc.fields or {}).items() if f in form.fields}
    for field, messages in placed.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field, str(message))
    if not placed:
        form.add_error(None, exc.message)
