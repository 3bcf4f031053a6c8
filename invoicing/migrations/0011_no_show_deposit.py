from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0010_card_setup")]

    operations: list[migrations.operations.base.Operation] = []
