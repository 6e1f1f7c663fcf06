"""Two operators acting on one incident at once: exactly one wins.

Each thread has its own database connection. On PostgreSQL the loser waits on the
row lock and then sees a newer version; on SQLite it waits on the database write
lock. Either way it gets IncidentConflict and changes nothing.
"""

import threading

import pytest
from django.db import connection

from incidents import services
from incidents.models import Incident, IncidentConflict

pytestmark = pytest.mark.django_db(transaction=True)


def _race(incident_pk, attempts):
    """Run each (action, user, data) of attempts in its own thread, all starting
    from the same loaded version, and return the outcomes in order."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def worker(index, action, user, data):
        try:
            loaded = Incident.objects.get(pk=incident_pk)
            barrier.wait(timeout=10)
            services.run_action(loaded, action, user, data)
            outcomes[index] = "won"
        except IncidentConflict:
            outcomes[index] = "conflict"
        except Exception as error:  # reported by the assertions below
            outcomes[index] = repr(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, *attempt))
        for index, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_same_transition_twice_one_wins(make_incident, users):
    incident = make_incident("triaged")
    manager = users["Incident manager"]
    responder = users["Responder"]
    outcomes = _race(
        incident.pk, [("acknowledge", manager, {}), ("acknowledge", responder, {})]
    )
    assert sorted(outcomes) == ["conflict", "won"]
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.status == "in_progress"
    assert fresh.version == incident.version + 1
    assert fresh.timeline.filter(transition="acknowledge").count() == 1


def test_different_transitions_one_wins(make_incident, users):
    incident = make_incident("in_progress")
    manager = users["Incident manager"]
    desk = users["Service desk"]
    resolve = {
        "resolution_code": "fixed",
        "resolution_notes": "Fixed.",
        "recovery_notes": "Recovered.",
    }
    cancel = {"cancel_reason": "raised_in_error"}
    outcomes = _race(
        incident.pk, [("resolve", manager, resolve), ("cancel", desk, cancel)]
    )
    assert sorted(outcomes) == ["conflict", "won"]
    fresh = Incident.objects.get(pk=incident.pk)
    winner = "resolved" if outcomes[0] == "won" else "cancelled"
    assert fresh.status == winner
    assert fresh.timeline.filter(kind="transition").count() == 3
