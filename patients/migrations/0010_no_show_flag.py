from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("patients", "0009_booking_code_uses")]

    operations: list[migrations.operations.base.Operation] = []
