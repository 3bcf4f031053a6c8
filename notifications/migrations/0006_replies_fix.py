from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_templates")]

    operations: list[migrations.operations.base.Operation] = []
