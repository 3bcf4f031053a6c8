from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("packages", "0002_online_purchase")]

    operations: list[migrations.operations.base.Operation] = []
