from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_sending")]

    operations: list[migrations.operations.base.Operation] = []
