from django.db import migrations

# On PostgreSQL a trigger rejects UPDATE and DELETE on timeline entries, so that no
# role, superusers and raw SQL included, can rewrite an incident's history.
# TRUNCATE stays possible for the database owner. SQLite relies on the model and
# queryset guards, because its test database is flushed with DELETE.
CREATE_TRIGGER = """
CREATE FUNCTION incidents_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'timeline entries are append-only (% rejected)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incidents_timeline_append_only
BEFORE UPDATE OR DELETE ON incidents_timelineentry
FOR EACH ROW EXECUTE FUNCTION incidents_timeline_append_only();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS incidents_timeline_append_only ON incidents_timelineentry;
DROP FUNCTION IF EXISTS incidents_timeline_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: with the default () psycopg reads the "%" of the
        # RAISE format string as a query placeholder and fails.
        schema_editor.execute(CREATE_TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


def create_sequence(apps, schema_editor):
    NumberSequence = apps.get_model("incidents", "NumberSequence")
    NumberSequence.objects.get_or_create(name="incident", defaults={"last_value": 0})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [
        migrations.RunPython(create_sequence, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
