"""Reuse the shared browser fixtures (system Chromium, live server, ``login``, ``screenshot``)."""

from tests.browser.conftest import (  # noqa: F401
    base_url,
    browser_context_args,
    browser_type_launch_args,
    login,
    reauth,
    screenshot,
)
