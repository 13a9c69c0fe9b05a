"""Bedside safety (issue 11): waived baselines, and item 9 alerts escalated to the practice leads."""

import courses.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0008_bedside_safety'),
        ('measures', '0004_free_text_limits'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='outboundmessage',
            name='message_once_per_alert_recipient',
        ),
        migrations.AddField(
            model_name='administration',
            name='waived_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='administration',
            name='waived_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='administration',
            name='waived_reason',
            field=models.TextField(blank=True, max_length=2000, validators=[courses.models.TextLimit(2000)]),
        ),
        migrations.AddField(
            model_name='measuresettings',
            name='safety_alert_escalation_hours',
            field=models.PositiveSmallIntegerField(default=24, verbose_name='hours before an unacknowledged item 9 alert goes to the practice leads'),
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='escalated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='administration',
            name='status',
            field=models.CharField(choices=[('scheduled', 'Scheduled'), ('open', 'Open'), ('completed', 'Completed'), ('missed', 'Missed'), ('cancelled', 'Cancelled'), ('waived', 'Waived')], default='scheduled', max_length=16),
        ),
        migrations.AlterField(
            model_name='outboundmessage',
            name='kind',
            field=models.CharField(choices=[('invitation', 'Invitation'), ('reminder', 'Reminder'), ('new_link', 'New link sent by staff'), ('safety_alert', 'Safety alert to clinician'), ('safety_escalation', 'Unacknowledged safety alert to practice lead')], max_length=24),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'waived'), _negated=True), models.Q(('timepoint', 'baseline'), ('waived_at__isnull', False), ('waived_by__isnull', False), models.Q(('waived_reason', ''), _negated=True)), _connector='OR'), name='administration_waiver_complete'),
        ),
        migrations.AddConstraint(
            model_name='measuresettings',
            constraint=models.CheckConstraint(condition=models.Q(('safety_alert_escalation_hours__gte', 1), ('safety_alert_escalation_hours__lte', 168)), name='measure_settings_alert_escalation'),
        ),
        migrations.AddConstraint(
            model_name='outboundmessage',
            constraint=models.UniqueConstraint(condition=models.Q(('safety_alert__isnull', False)), fields=('safety_alert', 'recipient', 'kind'), name='message_once_per_alert_recipient_kind'),
        ),
    ]
