from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_outbox")]

    operations: list[migrations.operations.base.Operation] = []
