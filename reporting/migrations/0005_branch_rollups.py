"""Branch-level rollups (reporting.models: BranchDay, BranchServiceDay, BranchMoneyDay), filled
from the doctor-level rows a chain already has; from here on reporting.rollups keeps them."""

from django.db import migrations, models

VISITS = "bookings, appointments, booked_minutes, completed, no_shows, cancelled_early_patient, cancelled_early_clinic, cancelled_late_patient, cancelled_late_clinic, source_online, source_walk_in, source_phone, source_waitlist, source_staff, new_patients, rebooked, outcomes_reminded, no_shows_reminded"
MONEY = "invoices, invoiced_minor, credited_minor, payments, collected_minor, refunds, refunded_minor"


def _sums(columns: str) -> str:
    return ", ".join(f"sum({c})" for c in columns.split(", "))


FILL = f"""
INSERT INTO reporting_branchday (day, branch_id, capacity_minutes, leave_minutes, {VISITS})
SELECT day, branch_id, sum(capacity_minutes), sum(leave_minutes), {_sums(VISITS)}
  FROM reporting_doctorday GROUP BY day, branch_id;
INSERT INTO reporting_branchserviceday (day, branch_id, service_id, {VISITS})
SELECT day, branch_id, service_id, {_sums(VISITS)} FROM reporting_serviceday GROUP BY day, branch_id, service_id;
INSERT INTO reporting_branchmoneyday (day, branch_id, currency, {MONEY})
SELECT day, branch_id, currency, {_sums(MONEY)} FROM reporting_moneyday GROUP BY day, branch_id, currency;
"""  # noqa: S608 - built from constants


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0004_marks_path_after_rename'),
    ]

    operations = [
        migrations.CreateModel(
            name='BranchDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bookings', models.IntegerField(default=0)),
                ('appointments', models.IntegerField(default=0)),
                ('booked_minutes', models.IntegerField(default=0)),
                ('completed', models.IntegerField(default=0)),
                ('no_shows', models.IntegerField(default=0)),
                ('cancelled_early_patient', models.IntegerField(default=0)),
                ('cancelled_early_clinic', models.IntegerField(default=0)),
                ('cancelled_late_patient', models.IntegerField(default=0)),
                ('cancelled_late_clinic', models.IntegerField(default=0)),
                ('source_online', models.IntegerField(default=0)),
                ('source_walk_in', models.IntegerField(default=0)),
                ('source_phone', models.IntegerField(default=0)),
                ('source_waitlist', models.IntegerField(default=0)),
                ('source_staff', models.IntegerField(default=0)),
                ('new_patients', models.IntegerField(default=0)),
                ('rebooked', models.IntegerField(default=0)),
                ('outcomes_reminded', models.IntegerField(default=0)),
                ('no_shows_reminded', models.IntegerField(default=0)),
                ('day', models.DateField()),
                ('branch_id', models.BigIntegerField()),
                ('capacity_minutes', models.IntegerField(default=0)),
                ('leave_minutes', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'branch_id'), name='branch_day_cell')],
            },
        ),
        migrations.CreateModel(
            name='BranchMoneyDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('invoices', models.IntegerField(default=0)),
                ('invoiced_minor', models.BigIntegerField(default=0)),
                ('credited_minor', models.BigIntegerField(default=0)),
                ('payments', models.IntegerField(default=0)),
                ('collected_minor', models.BigIntegerField(default=0)),
                ('refunds', models.IntegerField(default=0)),
                ('refunded_minor', models.BigIntegerField(default=0)),
                ('day', models.DateField()),
                ('branch_id', models.BigIntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'branch_id', 'currency'), name='branch_money_day_cell')],
            },
        ),
        migrations.CreateModel(
            name='BranchServiceDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bookings', models.IntegerField(default=0)),
                ('appointments', models.IntegerField(default=0)),
                ('booked_minutes', models.IntegerField(default=0)),
                ('completed', models.IntegerField(default=0)),
                ('no_shows', models.IntegerField(default=0)),
                ('cancelled_early_patient', models.IntegerField(default=0)),
                ('cancelled_early_clinic', models.IntegerField(default=0)),
                ('cancelled_late_patient', models.IntegerField(default=0)),
                ('cancelled_late_clinic', models.IntegerField(default=0)),
                ('source_online', models.IntegerField(default=0)),
                ('source_walk_in', models.IntegerField(default=0)),
                ('source_phone', models.IntegerField(default=0)),
                ('source_waitlist', models.IntegerField(default=0)),
                ('source_staff', models.IntegerField(default=0)),
                ('new_patients', models.IntegerField(default=0)),
                ('rebooked', models.IntegerField(default=0)),
                ('outcomes_reminded', models.IntegerField(default=0)),
                ('no_shows_reminded', models.IntegerField(default=0)),
                ('day', models.DateField()),
                ('branch_id', models.BigIntegerField()),
                ('service_id', models.BigIntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'branch_id', 'service_id'), name='branch_service_day_cell')],
            },
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
