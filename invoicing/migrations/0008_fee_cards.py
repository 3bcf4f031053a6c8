from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0007_ledger_refunds")]

    operations: list[migrations.operations.base.Operation] = []
