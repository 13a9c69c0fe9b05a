from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Heartbeat",
            fields=[
                (
                    "component",
                    models.CharField(
                        choices=[("beat", "scheduler (Celery beat)"), ("worker", "worker (Celery)")],
                        max_length=16,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("last_at", models.DateTimeField()),
            ],
        ),
    ]
