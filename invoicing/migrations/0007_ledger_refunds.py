from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0006_online_setup")]

    operations: list[migrations.operations.base.Operation] = []
