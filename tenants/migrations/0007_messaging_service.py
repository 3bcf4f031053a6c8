from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_stripe_connect")]

    operations: list[migrations.operations.base.Operation] = []
