# Reconciliation of the connected account's balance transactions and payouts.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0003_online_checkout")]

    operations: list[migrations.operations.base.Operation] = []
