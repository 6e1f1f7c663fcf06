"""The timeline is append-only, for every role and every path."""

import pytest
from django.db import DatabaseError, connection, transaction

from incidents.models import AppendOnlyError, TimelineEntry


def test_entry_cannot_be_changed(make_incident):
    entry = make_incident("new").timeline.first()
    entry.message = "Rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_entry_cannot_be_deleted(make_incident):
    entry = make_incident("new").timeline.first()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_queryset_update_and_delete_refused(make_incident):
    make_incident("new")
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.update(message="x")
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.all().delete()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)
def test_raw_sql_update_refused_by_trigger(make_incident):
    make_incident("new")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE incidents_timelineentry SET message = 'x'")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM incidents_timelineentry")
    assert TimelineEntry.objects.count() == 1


def test_every_step_appends_one_entry(make_incident):
    incident = make_incident("closed")
    kinds = list(incident.timeline.order_by("id").values_list("kind", "transition"))
    assert kinds == [
        ("reported", ""),
        ("transition", "triage"),
        ("transition", "acknowledge"),
        ("transition", "resolve"),
        ("transition", "close"),
    ]


def test_base_manager_update_refused(make_incident):
    entry = make_incident("new").timeline.first()
    with pytest.raises(AppendOnlyError):
        TimelineEntry._base_manager.filter(pk=entry.pk).update(message="x")
    with pytest.raises(AppendOnlyError):
        TimelineEntry._base_manager.filter(pk=entry.pk).delete()


def test_forced_update_of_entry_refused(make_incident):
    entry = make_incident("new").timeline.first()
    entry._state.adding = True
    entry.message = "Rewritten"
    with pytest.raises(AppendOnlyError), transaction.atomic():
        entry.save(force_update=True)
    assert TimelineEntry.objects.get(pk=entry.pk).message != "Rewritten"


def test_upsert_refused(make_incident):
    entry = make_incident("new").timeline.first()
    entry.message = "Rewritten"
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.bulk_create(
            [entry],
            update_conflicts=True,
            update_fields=["message"],
            unique_fields=["id"],
        )
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.bulk_update([entry], ["message"])
    assert TimelineEntry.objects.get(pk=entry.pk).message != "Rewritten"
