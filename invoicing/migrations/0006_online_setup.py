from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0005_package_sales")]

    operations: list[migrations.operations.base.Operation] = []
