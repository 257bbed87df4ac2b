from celery import shared_task

SEEN: list[int] = []


@shared_task(name="tests.scopeapp.tasks.flaky_scan_for_shop")
def flaky_scan_for_shop(*, shop_id: int) -> int:
    """A per-shop scan that fails for shop 2: the others must still run (fan_out isolates them)."""
    if shop_id == 2:
        raise RuntimeError("this shop's data is broken")
    SEEN.append(shop_id)
    return shop_id
