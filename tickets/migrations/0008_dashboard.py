# The live staff dashboard (issue 16): its permission, and a "Dashboard" group holding it
# (README, "Staff dashboard"). Superusers pass without it.

from django.db import migrations

DASHBOARD_GROUP = "Dashboard"


def create_dashboard_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate; the group needs it now.
    tickets = apps.get_app_config("tickets")
    tickets.models_module = True
    create_permissions(tickets, apps=apps, verbosity=0)
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=DASHBOARD_GROUP)
    group.permissions.add(
        *apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label="tickets", codename="view_dashboard"
        )
    )


def remove_dashboard_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=DASHBOARD_GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0007_packages'),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='function',
            options={'ordering': ['starts_at', 'name'], 'permissions': [('view_dashboard', 'Can open the live staff dashboard of a function')]},
        ),
        migrations.RunPython(create_dashboard_group, remove_dashboard_group),
    ]
