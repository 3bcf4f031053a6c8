from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0008_fee_cards")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="reconciliationrun",
            name="demo",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="balancetransaction",
            name="description",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="balancetransaction",
            name="customer",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
