from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0008_service_length_adjustable")]

    operations: list[migrations.operations.base.Operation] = []
