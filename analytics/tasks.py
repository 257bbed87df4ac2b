"""Celery tasks of the analytics app: thin wrappers around services."""

from __future__ import annotations
