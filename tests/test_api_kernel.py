"""The API kernel's shared parts: the per-token rate limit and the JSON renderer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy

from backoffice.api.renderers import JSONRenderer
from tests.fixtures import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}


def test_each_token_has_its_own_budget(shop, three_per_minute):
    first, second = api_client_for(shop.owner, reauth=False), api_client_for(shop.owner, reauth=False)
    url = f"/api/v1/shops/{shop.pk}/"
    assert [first.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert second.get(url).status_code == 200  # another token, another budget


def test_renderer_writes_what_drf_writes_but_money_stays_text():
    from rest_framework.renderers import JSONRenderer as DRFRenderer

    moment = datetime(2026, 11, 23, 10, 5, 7, 123456, tzinfo=UTC)
    data = {"at": moment, "day": moment.date(), "label": gettext_lazy("Orders"), "by_id": {1: "a"},
            "name": "Алиса 小明", "nested": [{"at": moment}]}  # fmt: skip
    assert json.loads(JSONRenderer().render(data)) == json.loads(DRFRenderer().render(data))
    assert json.loads(JSONRenderer().render(data))["at"] == "2026-11-23T10:05:07.123456Z"
    # DRF would write a bare Decimal as a float; money never leaves as a float here.
    assert json.loads(JSONRenderer().render({"amount": Decimal("10.10")})) == {"amount": "10.10"}


@pytest.mark.parametrize("shop_id", ["0", "99999999999999999999999"])
def test_a_shop_id_out_of_range_is_not_found(shop, shop_id):
    api = api_client_for(shop.owner, reauth=False)
    assert api.get(f"/api/v1/shops/{shop_id}/orders/").status_code == 404


def test_a_bad_filter_in_a_page_address_is_explained_not_a_server_error(shop):
    from tests.fixtures import web_client_for

    web = web_client_for(shop.owner, reauth=False)
    r = web.get(f"/shops/{shop.pk}/staff/", {"manager": "null"})
    assert r.status_code == 302 and r["Location"] == f"/shops/{shop.pk}/staff/"
    assert "manager: Enter a whole number." in web.get(r["Location"]).content.decode()


@pytest.mark.parametrize(
    "method,path,body,status",
    [
        ("patch", "/api/v1/shops/{shop}/", {"require_2fa_roles": True}, 400),
        ("get", "/api/v1/shops/{shop}/staff/?manager=null", None, 400),
        ("options", "/api/v1/shops/{shop}/notifications/preferences/", None, 200),
        ("post", "/api/v1/auth/token/", {"username": "x" * 300, "password": "p"}, 400),
    ],
)
def test_inputs_the_fuzzer_found(shop, method, path, body, status):
    """Each once answered 500 (found by tests/test_api_fuzz.py)."""
    api = api_client_for(shop.owner)
    url = path.format(shop=shop.pk)
    r = getattr(api, method)(url, body, format="json") if body is not None else getattr(api, method)(url)
    assert r.status_code == status, r.content[:300]


def test_the_openapi_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_parse_money_refuses_huge_exponents_with_a_400_not_a_500():
    """``1e400`` used to overflow while being rounded to cents (decimal.InvalidOperation: a 500)."""
    from backoffice.errors import ValidationFailed
    from backoffice.money import parse_money

    for value in ("1e400", "9" * 60, "1E+30"):
        with pytest.raises(ValidationFailed) as exc:
            parse_money(value, "amount")
        assert exc.value.fields == {"amount": ["Must be less than 10,000,000,000."]}
