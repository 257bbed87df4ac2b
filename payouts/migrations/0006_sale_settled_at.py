"""``LedgerTransaction.settled_at``: when a sale left ``pending``, so the unsettled sales are read through a
partial index (the balance page, the dashboard card and each settlement run read only those, not every sale ever).
Existing sales that have a settlement are marked with its booking time, the others stay NULL (the next settlement
run settles them, or marks those with nothing left); every other transaction is marked with its own booking time."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def mark_settled(apps, schema_editor):
    Txn = apps.get_model("payouts", "LedgerTransaction")  # noqa: N806
    txns = Txn._default_manager.using(schema_editor.connection.alias)
    settles = txns.filter(shop_id=OuterRef("shop_id"), kind="settle", key=OuterRef("key")).values("created_at")[:1]
    txns.filter(kind="sale", settled_at__isnull=True).update(settled_at=Subquery(settles))
    # Every other kind never holds a sale's money: settled when booked (NULL is left to the sales that wait).
    txns.exclude(kind="sale").filter(settled_at__isnull=True).update(settled_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("payouts", "0005_account_labels")]

    operations = [
        migrations.AddField(
            model_name="ledgertransaction",
            name="settled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_settled, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="ledgertransaction",
            index=models.Index(
                condition=models.Q(("kind", "sale"), ("settled_at__isnull", True)),
                fields=["shop", "occurred_at"],
                name="ledger_sale_unsettled",
            ),
        ),
    ]
