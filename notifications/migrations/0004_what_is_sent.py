from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_replies")]

    operations: list[migrations.operations.base.Operation] = []
