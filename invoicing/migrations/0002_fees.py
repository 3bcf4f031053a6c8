# Cancellation and no-show fees, the chain's billing policy and cards on file.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_ledger")]

    operations: list[migrations.operations.base.Operation] = []
