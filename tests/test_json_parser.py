"""Bodies nested 2,000 deep (or deeper than the limit) answer 400 on every JSON endpoint, including the
unauthenticated token endpoint, instead of a RecursionError."""

import pytest

from tests.fixtures import api_client_for

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 2000, 100_000])
def test_deep_json_is_refused_on_the_open_token_endpoint(client, depth):
    response = client.post("/api/v1/auth/token/", _nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_deep_json_is_refused_for_a_member(shop):
    api = api_client_for(shop.owner)
    response = api.generic("PATCH", f"/api/v1/shops/{shop.pk}/", '{"name": ' + _nested(2000) + "}",
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    shop.refresh_from_db()
    assert shop.name != ""


def test_ordinary_json_still_parses(client):
    response = client.post(
        "/api/v1/auth/token/", {"username": "nobody", "password": "x"}, content_type="application/json"
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"]["code"] != "parse_error"


def test_huge_integers_are_a_clear_400(shop):
    api = api_client_for(shop.owner)
    response = api.generic("PATCH", f"/api/v1/shops/{shop.pk}/", '{"low_stock_default": 123456789012345678901234}',
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
