"""Notifications and webhooks queued in the database and run by db_worker."""

import socket

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django_tasks import TaskResultStatus

from incidents import notifications, webhooks
from incidents.models import WebhookDelivery, WebhookSubscription
from incidents.tasks import send_email

# db_worker calls close_old_connections(), which closes a connection that is
# inside a transaction, so these tests commit for real. The root conftest puts
# back the rows that migrations created, such as the default targets.
pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}
}


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def test_webhook_waits_for_worker(database_tasks, make_receiver, fast_webhooks):
    receiver = make_receiver([200])
    WebhookSubscription.objects.create(
        name="Pager",
        url=receiver.url,
        events=["sla.breached"],
        secret="a-long-shared-secret",
    )

    with transaction.atomic():
        webhooks.emit("sla.breached", {})
    requests_before_worker = len(receiver.requests)
    run_worker()

    assert requests_before_worker == 0
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_email_waits_for_worker(database_tasks):
    with transaction.atomic():
        notifications.queue("Subject", "Body", {"b@example.com", "a@example.com"})
    sent_before_worker = len(mail.outbox)
    run_worker()

    assert sent_before_worker == 0
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]


def test_smtp_failure_marks_task_failed(settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2

    result = send_email.enqueue("Subject", "Body", ["a@example.com"])

    assert result.status == TaskResultStatus.FAILED
    assert "sending 1 notification e-mails failed (Subject)" in caplog.text


def free_port():
    # A port that was free a moment ago and that nothing listens on now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
