from incidents.models import Incident, TimelineEntry


def test_walk_new_to_closed(make_incident):
    incident = make_incident("closed")
    assert incident.status == "closed"
    assert incident.number.startswith("INC")
    assert incident.priority == 3
    assert incident.acknowledged_at is not None
    assert TimelineEntry.objects.filter(incident=incident).count() == 5
    for state in ("on_hold", "cancelled", "mitigated", "investigating"):
        assert make_incident(state).status == state
    assert Incident.objects.count() == 5
