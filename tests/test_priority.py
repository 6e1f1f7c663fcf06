"""The ITIL priority matrix and its override."""

import pytest

from incidents import services
from incidents.priority import derive_priority

# impact, urgency -> priority, written out independently of the module.
CELLS = [
    (1, 1, 1),
    (1, 2, 2),
    (1, 3, 3),
    (2, 1, 2),
    (2, 2, 3),
    (2, 3, 4),
    (3, 1, 3),
    (3, 2, 4),
    (3, 3, 5),
]


@pytest.mark.parametrize(("impact", "urgency", "priority"), CELLS)
def test_matrix_cell(impact, urgency, priority):
    assert derive_priority(impact, urgency) == priority


@pytest.mark.parametrize(("impact", "urgency", "priority"), CELLS)
def test_triage_derives_priority(impact, urgency, priority, make_incident):
    incident = make_incident("triaged", impact=impact, urgency=urgency)
    assert incident.priority == priority
    assert incident.is_major is (priority == 1)


@pytest.mark.parametrize("bad", [(0, 1), (4, 1), (1, None), ("x", 2)])
def test_matrix_rejects_bad_levels(bad):
    with pytest.raises(ValueError, match="must each be 1, 2 or 3"):
        derive_priority(*bad)


def test_override_priority_records_reason(make_incident, users):
    incident = make_incident("in_progress", impact=3, urgency=3)
    assert incident.priority == 5
    incident = services.run_action(
        incident,
        "override_priority",
        users["Incident manager"],
        {"priority": 2, "reason": "Board meeting tomorrow."},
    )
    assert incident.priority == 2
    assert incident.priority_overridden
    entry = incident.timeline.first()
    assert "Board meeting tomorrow." in entry.message
    assert "P5" in entry.message


def test_override_survives_impact_change(make_incident, users):
    incident = make_incident("in_progress", impact=3, urgency=3)
    manager = users["Incident manager"]
    incident = services.run_action(
        incident, "override_priority", manager, {"priority": 2, "reason": "VIP."}
    )
    incident = services.update_fields(incident, manager, {"impact": 1})
    assert incident.priority == 2


def test_impact_change_rederives_priority(make_incident, users):
    incident = make_incident("in_progress", impact=3, urgency=3)
    incident = services.update_fields(
        incident, users["Incident manager"], {"impact": 1, "urgency": 1}
    )
    assert incident.priority == 1
    entry = incident.timeline.first()
    assert entry.kind == "field_change"
    assert entry.data["changes"]["priority"] == [5, 1]


def test_service_desk_cannot_override(make_incident, users):
    incident = make_incident("in_progress")
    with pytest.raises(services.ActionRefused):
        services.run_action(
            incident,
            "override_priority",
            users["Service desk"],
            {"priority": 1, "reason": "Please."},
        )
