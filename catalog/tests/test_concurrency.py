"""Many threads adjusting and reserving one SKU at once, on PostgreSQL: no change is lost, and
available stock never goes below zero."""

import random
import threading

import pytest
from django.db import connections

from backoffice.authz import load_actor
from backoffice.errors import Conflict
from catalog import services
from catalog.models import Stock, StockMovement
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import make_shop
from tests.races import race, require_postgresql

THREADS = 12
OPS_PER_THREAD = 30
START = 20


@pytest.fixture(autouse=True)
def _postgresql():
    require_postgresql()


@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_and_reservations():
    shop = make_shop()
    owner = load_actor(shop.owner, shop)
    sku = first_sku(make_product(owner))
    wh = make_warehouse(owner)
    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=START, reason="receipt")

    stop = threading.Event()
    seen_available: list[int] = []

    def worker(seed: int) -> tuple[list[tuple[str, int]], list[str]]:
        """This thread's accepted changes and refusals; any other error fails the race."""
        rng = random.Random(seed)
        accepted: list[tuple[str, int]] = []
        refused: list[str] = []
        mine: list[list[dict]] = []  # this thread's open reservations
        for _ in range(OPS_PER_THREAD):
            op = rng.choice(["receipt", "loss", "reserve", "reserve", "release"])
            n = rng.randint(1, 4)
            try:
                if op == "receipt":
                    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=n, reason="receipt")
                    accepted.append(("on_hand", n))
                elif op == "loss":
                    services.stock_adjust(actor=owner, sku=sku, warehouse=wh, delta=-n, reason="loss")
                    accepted.append(("on_hand", -n))
                elif op == "reserve":
                    mine.append(services.stock_reserve(actor=owner, lines=[{"sku": sku, "quantity": n}]))
                    accepted.append(("reserved", n))
                elif mine:
                    allocation = mine.pop(rng.randrange(len(mine)))
                    services.stock_release(actor=owner, allocations=allocation)
                    accepted.append(("reserved", -allocation[0]["quantity"]))
            except Conflict as exc:
                refused.append(exc.code)
        return accepted, refused

    def monitor():
        try:
            while not stop.is_set():
                row = Stock.objects.for_shop(shop).filter(sku=sku, warehouse=wh).values_list("available", flat=True)
                seen_available.append(row[0])
        finally:
            connections.close_all()

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    try:
        results = race(THREADS, worker, timeout=120)
    finally:
        stop.set()
        watcher.join(timeout=10)
    accepted = [change for mine, _refused in results for change in mine]
    refused = [code for _mine, codes in results for code in codes]

    stock = Stock.objects.for_shop(shop).get(sku=sku, warehouse=wh)
    expected_on_hand = START + sum(n for kind, n in accepted if kind == "on_hand")
    expected_reserved = sum(n for kind, n in accepted if kind == "reserved")
    assert (stock.on_hand, stock.reserved) == (expected_on_hand, expected_reserved)
    assert stock.available == expected_on_hand - expected_reserved >= 0
    assert seen_available and min(seen_available) >= 0
    # Every accepted change is one movement row; the last one carries the final numbers.
    movements = StockMovement.objects.for_shop(shop).filter(sku=sku).order_by("id")
    assert movements.count() == len(accepted) + 1
    last = movements.last()
    assert (last.on_hand_after, last.reserved_after) == (stock.on_hand, stock.reserved)
    assert sum(m.on_hand_delta for m in movements) == stock.on_hand
    assert sum(m.reserved_delta for m in movements) == stock.reserved
    # The contest was real: some changes were refused for lack of stock.
    assert refused and set(refused) <= {"insufficient_stock", "out_of_stock"}
    print(
        f"\nconcurrency: {THREADS} threads, {len(accepted)} accepted, {len(refused)} refused, "
        f"final on_hand={stock.on_hand} reserved={stock.reserved} available={stock.available}, "
        f"min available seen={min(seen_available)} over {len(seen_available)} reads"
    )
