"""Every page and API read on the embedded default (SQLite), as ``make run`` serves them: the effect figures, the
balance chart, the statements and the ad campaign form used PostgreSQL-only SQL once (a 500 on SQLite). A script
in a process of its own, on a fresh SQLite file with the real settings, renders a few pages with figures, then
sends every GET probe of the one probe table (tests/shop_routes.py) as the shop's owner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_page_and_read_renders_on_the_embedded_sqlite_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REQUIRE_TEST_SERVICES", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.sqlite3'}", REDIS_URL="", CELERY_BROKER_URL="",
        DJANGO_SETTINGS_MODULE="backoffice.settings", MEDIA_ROOT=str(tmp_path / "media"),
        SECRET_KEY_FILE=str(tmp_path / "secret_key"), LOG_LEVEL="WARNING", CELERY_TASK_ALWAYS_EAGER="true",
    )  # fmt: skip
    done = subprocess.run([sys.executable, str(Path(__file__).resolve())], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["vendor"] == "sqlite"
    assert out["status"] == dict.fromkeys(out["status"], 200), out
    assert out["effect_orders"] == 1 and float(out["balance_pending"]) > 0, out
    assert out["probes"] > 100 and out["probe_failures"] == {}, out


def _main() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from orders.tests.factories import make_sku
    from payouts import selectors as payouts_selectors
    from promotions import effect
    from promotions.tests.factories import make_promotion
    from tests.fixtures import make_shop

    shop = make_shop("Embedded pages")
    sku, _wh = make_sku(shop, price="1000.00", stock=5)
    promotion = make_promotion(shop, value="10", starts_at=(timezone.now() - timezone.timedelta(hours=1)).isoformat())
    from payouts.tests.factories import delivered

    delivered(shop, "1000.00", sku=sku)  # through intake (10% off) to delivered: its sale is booked
    client = Client()
    client.force_login(shop.owner)
    base = f"/shops/{shop.pk}"
    pages = [f"{base}/promotions/{promotion.pk}/", f"{base}/payouts/", f"{base}/payouts/ledger/",
             f"{base}/payouts/statements/", f"/api/v1/shops/{shop.pk}/promotions/{promotion.pk}/effect/"]  # fmt: skip
    status = {url: client.get(url).status_code for url in pages}
    figures = effect.promotion_effect_compute(promotion=promotion)
    balance = payouts_selectors.balance(shop=shop)
    from tests.fixtures import api_client_for, web_client_for
    from tests.shop_routes import PROBES, World, send

    world = World.build("Embedded world")
    owner = world.members["owner"].user
    api, web = api_client_for(owner), web_client_for(owner)
    reads = [p for p in PROBES if p.method == "get"]
    failures = {}
    for probe in reads:
        answer = send(api if probe.api else web, probe, world)
        if answer.status_code != probe.ok:
            failures[probe.id] = answer.status_code
    print(json.dumps({"vendor": connection.vendor, "status": status, "effect_orders": figures["during"]["orders"],
                      "balance_pending": str(balance["pending"]), "probes": len(reads),
                      "probe_failures": failures}))  # fmt: skip


if __name__ == "__main__":
    _main()
