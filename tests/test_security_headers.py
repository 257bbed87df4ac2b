"""Content-Security-Policy on every page (scripts from this site only) and no-store on shop data; and no
template carries an inline script or event handler that the policy would block."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures import api_client_for, web_client_for

ROOT = Path(settings.BASE_DIR)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _templates() -> list[Path]:
    found = [p for p in ROOT.glob("templates/**/*.html")]
    for app in settings.DOMAIN_APPS:
        found += list(ROOT.glob(f"{app}/templates/**/*.html"))
    return found


def test_templates_were_found():
    assert len(_templates()) >= 40


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_inline_script_or_handler(template):
    text = template.read_text()
    assert not INLINE_HANDLER.search(text), "inline event handler: use a data attribute and static/js/app.js"
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to a static file"


@pytest.mark.django_db
def test_pages_carry_the_policy_and_shop_data_is_not_cached(shop, client):
    login = client.get("/accounts/login/")
    assert "script-src 'self'" in login["Content-Security-Policy"]
    assert "unsafe-inline" not in login["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert login.get("Cache-Control", "") != "no-store"

    page = web_client_for(shop.owner).get(f"/shops/{shop.pk}/staff/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page["Content-Security-Policy"]

    api = api_client_for(shop.owner).get(f"/api/v1/shops/{shop.pk}/")
    assert api.status_code == 200
    assert api["Cache-Control"] == "no-store"
