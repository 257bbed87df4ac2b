# The lead's browser-test fixtures (system Chromium, live server, login through the form, screenshots).
from tests.browser.conftest import (  # noqa: F401
    base_url,
    browser_context_args,
    browser_type_launch_args,
    login,
    screenshot,
)
