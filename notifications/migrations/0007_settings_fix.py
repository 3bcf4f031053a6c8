from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_replies_fix")]

    operations: list[migrations.operations.base.Operation] = []
