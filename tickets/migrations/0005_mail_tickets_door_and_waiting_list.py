# The second wave in one step (issues 13-15): the outbox's companions in tickets (ticket
# codes, manage and share keys, organiser details, structured dietary needs), check-in and
# staff notes with the Door and Kitchen groups, and the waiting list.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import tickets.models
import uuid
from django.conf import settings
from django.db import migrations, models


# Staff groups the door and the kitchen need, and nothing more (README, "The door"): signing
# in goes through /admin/login/, so their members also need "staff status"; with no view
# permission the admin shows them nothing, and the door and kitchen pages ask only these.
STAFF_GROUPS = {
    "Door": ["check_in"],
    "Kitchen": ["view_kitchen"],
}


def give_every_row_its_own_keys(apps, schema_editor):
    """A column default is one value for every existing row: tickets need a code each,
    and registrations a manage key each."""
    from tickets.models import new_secret_key

    for model, field in (("Ticket", "code"), ("Registration", "manage_key")):
        rows = list(apps.get_model("tickets", model).objects.only("pk"))
        for row in rows:
            setattr(row, field, new_secret_key())
        apps.get_model("tickets", model).objects.bulk_update(rows, [field], batch_size=500)


def create_staff_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate; the groups need them now.
    tickets = apps.get_app_config("tickets")
    tickets.models_module = True
    create_permissions(tickets, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in STAFF_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)
        )


def remove_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=STAFF_GROUPS).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0004_expired_status_limits_audit_and_drafts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name='CheckIn',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('door', models.CharField(blank=True, max_length=40)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['event', 'at', 'pk'],
                'permissions': [('check_in', 'Can check attendees in at the door'), ('view_kitchen', 'Can open the kitchen page (counts only)'), ('see_dietary_names', 'Can see who has a dietary or special need (kitchen page)')],
            },
        ),
        migrations.CreateModel(
            name='StaffNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.CharField(max_length=500)),
                ('sent_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-sent_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='WaitlistEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('quantity', models.PositiveSmallIntegerField()),
                ('name', models.CharField(max_length=200)),
                ('email', models.EmailField(max_length=254)),
                ('status', models.CharField(choices=[('waiting', 'Waiting'), ('offered', 'Offered'), ('accepted', 'Accepted'), ('expired', 'Offer lapsed'), ('removed', 'Removed')], default='waiting', max_length=16)),
                ('buyer_key', models.CharField(blank=True, editable=False, max_length=64)),
                ('offered_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('lapses_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('ended_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('access_key', models.CharField(default=tickets.models.new_secret_key, editable=False, max_length=32)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                'verbose_name_plural': 'waiting list entries',
                'ordering': ['ticket_type', 'created_at', 'pk'],
                'permissions': [('manage_waitlist', 'Can remove waiting list entries and close or open lists')],
            },
        ),
        migrations.AddField(
            model_name='attendee',
            name='dietary_needs',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='attendee',
            name='special_needs',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='function',
            name='names_due_at',
            field=models.DateTimeField(blank=True, help_text="Until then owners (and anyone with a table's share link) may name and correct attendees; after it the names pages are read-only. Empty: until the function starts.", null=True),
        ),
        migrations.AddField(
            model_name='function',
            name='organiser_abn',
            field=models.CharField(blank=True, help_text='Australian Business Number.', max_length=20, verbose_name='organiser ABN'),
        ),
        migrations.AddField(
            model_name='function',
            name='organiser_name',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='function',
            name='waitlist_offer_minutes',
            field=models.PositiveSmallIntegerField(default=30, help_text='How long seats offered to the next person on a waiting list are held for them before the offer passes to the next.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1440)]),
        ),
        migrations.AddField(
            model_name='registration',
            name='manage_key',
            field=models.CharField(default=tickets.models.new_secret_key, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name='registration',
            name='share_key',
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name='ticket',
            name='code',
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(give_every_row_its_own_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='ticket',
            name='code',
            field=models.CharField(default=tickets.models.new_secret_key, editable=False, max_length=32, unique=True),
        ),
        migrations.AddField(
            model_name='ticket',
            name='version',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='tickettype',
            name='waiting',
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='tickettype',
            name='waitlist_closed',
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('mark_paid', 'Marked paid'), ('cancel_unpaid', 'Cancelled unpaid registration'), ('cancel_registration', 'Cancelled registration'), ('cancel_event', 'Cancelled event'), ('send_message', 'Sent message'), ('mark_refunded', 'Marked refunded'), ('reissue_manage_link', 'Reissued manage link'), ('check_in', 'Checked in'), ('door_payment', 'Marked paid at the door'), ('waitlist_remove', 'Removed from waiting list'), ('waitlist_close', 'Closed waiting list'), ('waitlist_open', 'Opened waiting list')], max_length=32),
        ),
        migrations.AlterField(
            model_name='broadcast',
            name='kind',
            field=models.CharField(choices=[('capacity_change', 'Capacity change'), ('info_update', 'Information update'), ('cancellation', 'Cancellation'), ('message', 'Message'), ('waitlist', 'Waiting list opened or closed')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='tickettype',
            constraint=models.CheckConstraint(condition=models.Q(('waiting__gte', 0)), name='ticket_waiting_gte_0'),
        ),
        migrations.AddField(
            model_name='checkin',
            name='by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='checkin',
            name='event',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='check_ins', to='tickets.event'),
        ),
        migrations.AddField(
            model_name='checkin',
            name='ticket',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='check_ins', to='tickets.ticket'),
        ),
        migrations.AddField(
            model_name='staffnote',
            name='event',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_notes', to='tickets.event'),
        ),
        migrations.AddField(
            model_name='staffnote',
            name='sent_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='waitlistentry',
            name='offered_registration',
            field=models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='waitlist_entry', to='tickets.registration'),
        ),
        migrations.AddField(
            model_name='waitlistentry',
            name='ticket_type',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='waitlist_entries', to='tickets.tickettype'),
        ),
        migrations.AddIndex(
            model_name='checkin',
            index=models.Index(fields=['event', 'door'], name='check_in_by_door'),
        ),
        migrations.AddConstraint(
            model_name='checkin',
            constraint=models.UniqueConstraint(fields=('ticket', 'event'), name='one_check_in_per_ticket'),
        ),
        migrations.AddIndex(
            model_name='waitlistentry',
            index=models.Index(condition=models.Q(('status', 'waiting')), fields=['ticket_type', 'created_at', 'id'], name='waitlist_queue'),
        ),
        migrations.AddConstraint(
            model_name='waitlistentry',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 1)), name='waitlist_quantity_gte_1'),
        ),
        migrations.AddConstraint(
            model_name='waitlistentry',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['waiting', 'offered'])), fields=('ticket_type', 'email'), name='one_active_waitlist_entry_per_email'),
        ),
        migrations.RunPython(create_staff_groups, remove_staff_groups),
    ]
