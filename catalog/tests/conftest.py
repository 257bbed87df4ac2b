import pytest

from tests.fixtures import owner_actor


@pytest.fixture
def owner(shop):
    return owner_actor(shop)


@pytest.fixture
def busy_catalog(shop):
    """A shop with 60 SKUs (30 products × 2), stock in two warehouses for every first SKU and an open
    low-stock alert for each unstocked one: what the list and page query-count tests page through."""
    from backoffice.authz import system_actor
    from catalog import services
    from catalog.tests.factories import first_sku, make_product, make_warehouse

    owner = owner_actor(shop)
    cat = services.category_create(actor=owner, name="Busy")
    warehouses = [make_warehouse(owner), make_warehouse(owner)]
    for i in range(30):
        product = make_product(owner, category=cat, skus=2)
        for wh in warehouses:
            services.stock_adjust(actor=owner, sku=first_sku(product), warehouse=wh, delta=i + 1, reason="receipt")
    assert services.low_stock_scan(actor=system_actor(shop))["opened"] >= 30  # every second SKU has no stock
    return shop
