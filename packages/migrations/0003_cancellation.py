from django.db import migrations, models

REASONS = [
    ("unpaid", "Not paid"),
    ("invoice_void", "Its invoice was voided"),
    ("invoice_credited", "Its invoice was credited in full"),
    ("desk", "Cancelled by the clinic"),
]


def _fields(model_name: str) -> list[migrations.operations.base.Operation]:
    return [
        migrations.AddField(model_name=model_name, name="cancel_note", field=models.CharField(blank=True, max_length=200)),
        migrations.AddField(
            model_name=model_name,
            name="cancel_reason",
            field=models.CharField(blank=True, choices=REASONS, max_length=20),
        ),
        migrations.AddField(model_name=model_name, name="cancelled_at", field=models.DateTimeField(blank=True, null=True)),
    ]


class Migration(migrations.Migration):
    dependencies = [("packages", "0002_online_purchase")]

    operations: list[migrations.operations.base.Operation] = [
        *_fields("historicalpackagepurchase"),
        *_fields("packagepurchase"),
    ]
