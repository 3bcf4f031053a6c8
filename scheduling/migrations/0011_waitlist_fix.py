from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0010_waitlist")]

    operations: list[migrations.operations.base.Operation] = []
