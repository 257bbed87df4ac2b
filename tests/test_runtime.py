"""The server processes settle their start-up memory (``backoffice.runtime.settle_memory``): checked in a fresh
interpreter, since freezing the test process's collector would change every other test."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["backoffice.wsgi", "backoffice.asgi"])
def test_the_server_entry_point_freezes_what_start_up_loaded(module):
    code = f"import gc, {module}; print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert int(out.stdout.strip().splitlines()[-1]) > 10_000, out


def test_a_celery_worker_process_freezes_at_start():
    code = (
        "import django, gc; django.setup(); import backoffice.celery as c; from celery.signals import "
        "worker_process_init; worker_process_init.send(sender=None); print(gc.get_freeze_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert int(out.stdout.strip().splitlines()[-1]) > 10_000, out
