# Invoices for session packages sold.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0004_reconciliation")]

    operations: list[migrations.operations.base.Operation] = []
