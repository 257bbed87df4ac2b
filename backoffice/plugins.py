"""How the kernel finds what the domain apps contribute: ``<app>.<name>`` modules, in ``DOMAIN_APPS`` order
(dashboard cards and panels from ``<app>/dashboard.py``, report types from ``<app>/reports.py``)."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from django.conf import settings


@cache
def app_modules(name: str) -> tuple[ModuleType, ...]:
    """Every domain app's ``<app>.<name>`` module; an app without one is skipped, but an import error inside
    one that exists is raised (a broken contribution must not vanish silently)."""
    found = []
    for app in settings.DOMAIN_APPS:
        try:
            found.append(importlib.import_module(f"{app}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.{name}":
                raise
    return tuple(found)
