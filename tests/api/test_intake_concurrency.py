"""Concurrent Alertmanager deliveries of one fingerprint open one incident.

Each thread has its own database connection. On PostgreSQL the deliveries run
in parallel unless the intake serializes them per fingerprint; SQLite already
serializes writers, so the test runs on PostgreSQL only.
"""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from incidents.api.models import AlertEvent
from incidents.models import Incident
from tests.api.conftest import load_payload

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/intake/alertmanager/"
DELIVERIES = 4


def _deliver_at_once(key, payloads):
    barrier = threading.Barrier(len(payloads))
    statuses = [None] * len(payloads)

    def worker(index, payload):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            barrier.wait(timeout=10)
            statuses[index] = client.post(URL, payload, format="json").status_code
        except Exception as error:  # reported by the assertions below
            statuses[index] = repr(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, payload))
        for index, payload in enumerate(payloads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_concurrent_firing_opens_one_incident(intake_key):
    payloads = []
    for minute in range(DELIVERIES):
        payload = load_payload("firing")
        payload["alerts"][0]["startsAt"] = f"2026-03-02T09:0{minute}:00Z"
        payloads.append(payload)

    statuses = _deliver_at_once(intake_key, payloads)

    assert statuses == [200] * DELIVERIES
    assert Incident.objects.count() == 1
    assert AlertEvent.objects.count() == DELIVERIES
    incident = Incident.objects.get()
    assert incident.timeline.filter(kind="alert").count() == DELIVERIES
