from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0008_fee_cards")]

    operations: list[migrations.operations.base.Operation] = []
