# Deposits and prepayment during online booking, tied to the hold.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0002_fees")]

    operations: list[migrations.operations.base.Operation] = []
