"""A real Prometheus Alertmanager delivering to the intake on a live server.

Needs the prometheus-alertmanager and amtool binaries (Debian's package);
ALERTMANAGER_PATH and AMTOOL_PATH override their paths. Alertmanager listens on
a free loopback port with clustering off, and its only receiver is a webhook to
the live server.
"""

import datetime
import json
import logging
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from incidents import services
from incidents.api.intake import intake_account
from incidents.api.models import AlertEvent, AlertSeverityMapping, IntakeToken
from incidents.models import Incident, TimelineEntry
from incidents.roles import INCIDENT_MANAGER

pytestmark = pytest.mark.alertmanager

ALERTMANAGER = os.environ.get("ALERTMANAGER_PATH", "/usr/bin/prometheus-alertmanager")
AMTOOL = os.environ.get("AMTOOL_PATH", "/usr/bin/amtool")
WAIT_SECONDS = 30

CONFIG = """\
route:
  receiver: ims
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: ims
  webhook_configs:
  - url: {url}
    send_resolved: true
    http_config:
      authorization:
        credentials: {token}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what, timeout=WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}.")


def alertmanager_ready(url):
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def alertmanager(live_server, tmp_path):
    """Start Alertmanager sending to the live server; return its URL."""
    if not Path(ALERTMANAGER).exists() or not Path(AMTOOL).exists():
        pytest.skip(f"{ALERTMANAGER} or {AMTOOL} is not installed.")
    user, _ = intake_account("alertmanager")
    _token, key = IntakeToken.issue(user, "live test")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        CONFIG.format(url=f"{live_server.url}/api/v1/intake/alertmanager/", token=key)
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: alertmanager_ready(url), "Alertmanager to start")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def amtool_add(url, *labels, summary):
    subprocess.run(
        [
            AMTOOL,
            f"--alertmanager.url={url}",
            "alert",
            "add",
            *labels,
            f"--annotation=summary={summary}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


def post_alerts(url, alerts):
    """Post alerts to Alertmanager's v2 API (the loopback instance above)."""
    request = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def delivered(caplog, text):
    """Return whether an intake delivery log line contains the text; the line is
    written after the delivery's transaction commits."""
    return any(
        record.name == "incidents.api.intake" and text in record.getMessage()
        for record in caplog.records
    )


def test_alertmanager_opens_dedupes_and_mitigates(
    alertmanager, users, category, service, team, caplog
):
    caplog.set_level(logging.INFO, logger="incidents.api.intake")
    # A transactional test that ran earlier may have flushed the migrated rows.
    AlertSeverityMapping.objects.update_or_create(
        severity="critical", defaults={"impact": 1, "urgency": 1}
    )
    labels = ["alertname=DiskFull", "instance=db1", "severity=critical"]

    amtool_add(alertmanager, *labels, summary="Disk full on db1")
    wait_for(lambda: delivered(caplog, "opened=1"), "the first delivery")

    incident = Incident.objects.get(source="alertmanager")
    assert incident.title == "DiskFull: Disk full on db1"
    assert incident.priority == 1
    first = AlertEvent.objects.get()
    assert first.incident == incident

    # The same alert again, plus a second one in its group: Alertmanager sends
    # both, and only the new one opens an incident.
    amtool_add(alertmanager, *labels, summary="Disk full on db1")
    amtool_add(
        alertmanager,
        "alertname=DiskFull",
        "instance=db2",
        "severity=warning",
        summary="Disk full on db2",
    )
    wait_for(lambda: delivered(caplog, "duplicates=1"), "the grouped delivery")

    assert Incident.objects.count() == 2
    assert AlertEvent.objects.filter(fingerprint=first.fingerprint).count() == 1
    assert TimelineEntry.objects.filter(incident=incident, kind="alert").count() == 1

    manager = users[INCIDENT_MANAGER]
    incident = services.run_action(
        incident,
        "triage",
        manager,
        {
            "category": category.pk,
            "service": service.pk,
            "impact": 1,
            "urgency": 1,
            "assignment_group": team.pk,
        },
    )
    services.run_action(incident, "acknowledge", manager, {})
    ended = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    post_alerts(
        alertmanager,
        [
            {
                "labels": dict(label.split("=") for label in labels),
                "annotations": {"summary": "Disk full on db1"},
                "startsAt": first.starts_at.isoformat(),
                "endsAt": ended.isoformat(),
            }
        ],
    )
    wait_for(lambda: delivered(caplog, "mitigated=1"), "the resolved delivery")

    incident.refresh_from_db()
    assert incident.status == "mitigated"
    resolved = TimelineEntry.objects.get(
        incident=incident, kind="alert", data__status="resolved"
    )
    assert "resolved at" in resolved.message
    assert AlertEvent.objects.filter(status="resolved").count() == 1
