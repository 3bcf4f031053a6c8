from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0009_no_shows")]

    operations: list[migrations.operations.base.Operation] = []
