"""Notifications and webhooks queued in the database and run by db_worker."""

import pytest
from django.core import mail
from django.core.management import call_command

from incidents import notifications, webhooks
from incidents.models import WebhookDelivery, WebhookSubscription

DATABASE_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}
}


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def test_webhook_waits_for_worker(
    db, database_tasks, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([200])
    WebhookSubscription.objects.create(
        name="Pager",
        url=receiver.url,
        events=["sla.breached"],
        secret="a-long-shared-secret",
    )

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {})
    requests_before_worker = len(receiver.requests)
    run_worker()

    assert requests_before_worker == 0
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_email_waits_for_worker(db, database_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.queue("Subject", "Body", {"b@example.com", "a@example.com"})
    sent_before_worker = len(mail.outbox)
    run_worker()

    assert sent_before_worker == 0
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]
