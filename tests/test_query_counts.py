"""Lists cost a constant number of queries, whatever the page size (no per-row queries)."""

import pytest

from tests.fixtures import api_client_for, count_queries, make_member, make_shop, web_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_shop():
    shop = make_shop()
    for n in range(30):
        make_member(shop, ["viewer", "support", "operator"][n % 3], username=f"busy{n}")
    return shop


@pytest.mark.parametrize(
    "path,key",
    [("/api/v1/shops/{shop}/staff/", "results"), ("/api/v1/shops/{shop}/audit-log/", "results")],
)
def test_api_lists_do_not_grow_with_page_size(busy_shop, path, key):
    api = api_client_for(busy_shop.owner)
    url = path.format(shop=busy_shop.pk)
    small, r_small = count_queries(api, url, page_size=2)
    large, r_large = count_queries(api, url, page_size=30)
    assert len(r_small.json()[key]) == 2 and len(r_large.json()[key]) == 30
    assert small == large, (small, large)


@pytest.mark.parametrize("path", ["/shops/{shop}/staff/", "/shops/{shop}/audit/"])
def test_pages_do_not_grow_with_rows(busy_shop, path):
    web = web_client_for(busy_shop.owner, reauth=False)
    url = path.format(shop=busy_shop.pk)
    first, _ = count_queries(web, url, page=1)
    # Page 2 of the staff list holds 6 rows, of the audit log 25: same cost as page 1's 25.
    second, _ = count_queries(web, url, page=2)
    assert first == second, (first, second)
