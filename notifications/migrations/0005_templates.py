from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_what_is_sent")]

    operations: list[migrations.operations.base.Operation] = []
