"""Low-stock alerts and imports as background work: a real Celery worker over Redis (not eager)."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.authz import load_actor
from backoffice.celery import app
from catalog import selectors, services
from catalog.models import SKU, LowStockAlert
from catalog.tasks import build_export, run_import, scan_low_stock, scan_low_stock_for_shop
from catalog.tests.factories import first_sku, make_product, make_warehouse
from tests.fixtures import make_member, make_shop


def test_low_stock_scan_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["scan-low-stock"]
    assert entry["task"] == scan_low_stock.name and entry["schedule"] <= timedelta(minutes=30)
    assert {scan_low_stock.name, scan_low_stock_for_shop.name, run_import.name, build_export.name} <= set(app.tasks)
    assert {run_import.name, build_export.name} == {"catalog.tasks.run_import", "catalog.tasks.build_export"}


def test_services_do_not_import_the_tasks_module():
    """Services queue tasks by name (backoffice.jobs.enqueue): no services <-> tasks import cycle."""
    import ast
    import pathlib

    import catalog.services

    for path in pathlib.Path(catalog.services.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert all(a.name != "catalog.tasks" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert node.module != "catalog.tasks", path
                assert not (node.module == "catalog" and any(a.name == "tasks" for a in node.names)), path


@pytest.mark.django_db
def test_candidates_are_one_query_per_shop(shop):
    owner = load_actor(shop.owner, shop)
    wh = make_warehouse(owner)
    for i in range(10):
        services.stock_adjust(actor=owner, sku=first_sku(make_product(owner)), warehouse=wh, delta=i + 1,
                              reason="receipt")  # fmt: skip
    archived = make_product(owner)
    services.product_archive(actor=owner, product=archived)
    with CaptureQueriesContext(connection) as ctx:
        low = selectors.low_stock_candidates(shop=shop)
    assert len(ctx.captured_queries) == 1
    assert sorted(avail for _sku, avail, _limit in low) == [1, 2, 3, 4, 5]  # default threshold 5; archived skipped


@pytest.mark.worker
def test_worker_opens_alerts_once_resolves_on_restock_and_notifies(celery_worker):
    shop = make_shop()
    owner = load_actor(shop.owner, shop)
    phones = services.category_create(actor=owner, name="Phones")
    garden = services.category_create(actor=owner, name="Garden")
    wh = make_warehouse(owner)
    a = first_sku(make_product(owner, category=phones))
    b = first_sku(make_product(owner, category=phones))
    c = first_sku(make_product(owner, category=phones))
    services.sku_update(actor=owner, sku=a, low_stock_threshold=3)
    services.stock_adjust(actor=owner, sku=a, warehouse=wh, delta=2, reason="receipt")  # 2 ≤ 3: low
    services.stock_adjust(actor=owner, sku=b, warehouse=wh, delta=10, reason="receipt")  # 10 > 5: fine
    # c has no stock at all: low
    admin = make_member(shop, "admin")
    operator = make_member(shop, "operator")
    viewer = make_member(shop, "viewer")
    elsewhere = make_member(shop, "operator", scopes={"category": [garden.pk]})
    mail.outbox.clear()
    Notification = apps.get_model("accounts", "Notification")  # noqa: N806

    result = scan_low_stock_for_shop.delay(shop.pk).get(timeout=30)
    assert result == {"opened": 2, "resolved": 0, "notified": 3}
    open_alerts = LowStockAlert.objects.for_shop(shop).filter(status="open")
    assert set(open_alerts.values_list("sku_id", flat=True)) == {a.pk, c.pk}
    assert open_alerts.get(sku=a).available_at_open == 2 and open_alerts.get(sku=a).threshold == 3
    recipients = set(Notification.objects.for_shop(shop).values_list("recipient_id", flat=True))
    assert recipients == {shop.owner.pk, admin.user_id, operator.user_id}
    assert viewer.user_id not in recipients and elsewhere.user_id not in recipients
    assert {m.to[0] for m in mail.outbox} == {shop.owner.email, admin.user.email, operator.user.email}
    assert a.code in Notification.objects.for_shop(shop).filter(recipient=operator.user).get().body

    # A second tick (or a redelivery) opens nothing new and notifies no one.
    assert scan_low_stock_for_shop.delay(shop.pk).get(timeout=30) == {"opened": 0, "resolved": 0, "notified": 0}
    assert LowStockAlert.objects.for_shop(shop).count() == 2 and len(mail.outbox) == 3

    # Restock a: its alert resolves; c stays open.
    services.stock_adjust(actor=owner, sku=a, warehouse=wh, delta=5, reason="receipt")
    assert scan_low_stock_for_shop.delay(shop.pk).get(timeout=30)["resolved"] == 1
    states = dict(LowStockAlert.objects.for_shop(shop).values_list("sku_id", "status"))
    assert states == {a.pk: "resolved", c.pk: "open"}
    assert LowStockAlert.objects.for_shop(shop).get(sku=a).resolved_at is not None

    # Falling low again opens a new alert for a (the old one stays resolved).
    services.stock_adjust(actor=owner, sku=a, warehouse=wh, delta=-6, reason="loss")
    assert scan_low_stock_for_shop.delay(shop.pk).get(timeout=30)["opened"] == 1
    assert LowStockAlert.objects.for_shop(shop).filter(sku=a).count() == 2


@pytest.mark.django_db
def test_beat_entry_fans_out_over_shops(shop, django_capture_on_commit_callbacks):
    """(Eager here: the fan-out queues one scan per shop that has SKUs, on commit.)"""
    owner = load_actor(shop.owner, shop)
    make_product(owner)
    make_shop()  # no SKUs: not scanned
    # Every shop with SKUs in this test database (the probe worlds built once per process included).
    with_skus = SKU.unscoped.values("shop_id").distinct().count()
    with django_capture_on_commit_callbacks(execute=True):
        assert scan_low_stock.delay().get() == with_skus
    assert LowStockAlert.objects.for_shop(shop).filter(status="open").count() == 1


@pytest.mark.worker
def test_worker_runs_an_uploaded_import(celery_worker):
    """The upload answers at once; the worker picks the job up from Redis and the API shows its progress."""
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.models import SKU
    from tests.fixtures import api_client_for

    shop = make_shop()
    api = api_client_for(shop.owner)
    rows = "sku,title,price\n" + "".join(f"W-{i},Worker item {i},{'x' if i % 5 == 0 else i}\n" for i in range(1, 41))
    r = api.post(f"/api/v1/shops/{shop.pk}/imports/",
                 {"kind": "products", "file": SimpleUploadedFile("w.csv", rows.encode())}, format="multipart")  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] in ("pending", "running", "done")
    job_url = f"/api/v1/shops/{shop.pk}/imports/{r.json()['id']}/"
    deadline = time.monotonic() + 60
    while (job := api.get(job_url).json())["status"] in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["status"] == "done" and job["progress"] == 100
    assert (job["created_rows"], job["error_rows"]) == (32, 8)
    assert SKU.objects.for_shop(shop).count() == 32
