from django.db import migrations, models

import notifications.models


def _kind() -> models.CharField:
    # The kinds as the model has them when this runs (0005's history table copies the same field):
    # the two leave notices are added here; other parts of the issue may add kinds of their own.
    return models.CharField(choices=notifications.models.Kind.choices, max_length=20)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_replies")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterField(model_name="message", name="kind", field=_kind()),
        migrations.AlterField(model_name="template", name="kind", field=_kind()),
    ]
