"""PostgreSQL guards of the ledger (SQLite relies on ``payouts.services.ledger.post``'s own checks):

- ``payouts_entry_immutable``: entries are never updated or deleted (corrections are new transactions);
- ``payouts_txn_zero_sum``: a deferrable, initially deferred constraint trigger that checks at commit that each
  transaction an inserted entry belongs to has two or more entries summing to zero.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payouts_entry_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payouts ledger entries are immutable (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER payouts_entry_immutable BEFORE UPDATE OR DELETE ON payouts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payouts_entry_immutable();

CREATE FUNCTION payouts_txn_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    legs integer;
BEGIN
    SELECT coalesce(sum(amount), 0), count(*) INTO total, legs
        FROM payouts_ledgerentry WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 OR legs < 2 THEN
        RAISE EXCEPTION 'payouts ledger transaction % is unbalanced: % entries summing to %',
            NEW.transaction_id, legs, total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER payouts_txn_zero_sum AFTER INSERT ON payouts_ledgerentry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payouts_txn_zero_sum();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payouts_txn_zero_sum ON payouts_ledgerentry;
DROP FUNCTION IF EXISTS payouts_txn_zero_sum();
DROP TRIGGER IF EXISTS payouts_entry_immutable ON payouts_ledgerentry;
DROP FUNCTION IF EXISTS payouts_entry_immutable();
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the bodies' "%" stay as they are

    return run


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(REVERSE))]
