"""Outbound webhooks delivered to a real HTTP receiver on loopback."""

import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError

from incidents import webhooks
from incidents.admin_sla import WebhookSubscriptionForm
from incidents.models import WebhookDelivery, WebhookSubscription

SECRET = "a-long-shared-secret"


def subscribe(url, events=("incident.created",), active=True):
    return WebhookSubscription.objects.create(
        name=f"Receiver {url}",
        url=url,
        events=list(events),
        secret=SECRET,
        active=active,
    )


def test_delivery_signature_verifies_with_secret(
    db, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([200])
    subscribe(receiver.url, ["sla.breached"])

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {"incident": {"number": "INC0000001"}})

    request = receiver.requests[0]
    timestamp = request["headers"]["x-ims-timestamp"]
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert request["headers"]["x-ims-signature"] == f"sha256={expected}"
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"])["data"]["incident"]["number"] == "INC0000001"


def test_delivery_success_is_logged(
    db, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([204])
    subscribe(receiver.url, ["sla.breached"])

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {})

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.response_code == 204
    assert delivery.finished_at is not None


def test_delivery_retries_on_500_then_succeeds(
    db, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([500, 503, 200])
    subscribe(receiver.url, ["sla.breached"])

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {})

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 3
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 3
    assert delivery.response_code == 200


def test_retries_reuse_delivery_id_and_body(
    db, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([500, 200])
    subscribe(receiver.url, ["sla.breached"])

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {"n": 1})

    first, second = receiver.requests
    assert first["headers"]["x-ims-delivery"] == second["headers"]["x-ims-delivery"]
    assert first["body"] == second["body"]


def test_delivery_gives_up_after_max_attempts(
    db, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([500])
    subscribe(receiver.url, ["sla.breached"])

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("sla.breached", {})

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 3
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3
    assert delivery.response_code == 500
    assert "HTTP 500" in delivery.last_error


def test_backoff_doubles_between_attempts(db, make_receiver, fast_webhooks):
    receiver = make_receiver([500])
    subscription = subscribe(receiver.url, ["sla.breached"])
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="sla.breached", payload={}
    )
    waits = []

    webhooks.deliver(delivery.pk, sleep=waits.append)

    assert waits == [0.01, 0.02]


def test_client_error_is_not_retried(db, make_receiver, fast_webhooks):
    receiver = make_receiver([400])
    subscription = subscribe(receiver.url, ["sla.breached"])
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="sla.breached", payload={}
    )

    status = webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.response_code == 400


def test_connection_refused_is_retried_then_failed(db, make_receiver, fast_webhooks):
    receiver = make_receiver([200])
    url = receiver.url
    receiver.close()  # Nothing listens on the port any more.
    subscription = subscribe(url, ["sla.breached"])
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="sla.breached", payload={}
    )

    webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3
    assert delivery.response_code is None
    assert "connection failed" in delivery.last_error


def test_finished_delivery_is_not_sent_again(db, make_receiver, fast_webhooks):
    receiver = make_receiver([200])
    subscription = subscribe(receiver.url, ["sla.breached"])
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event="sla.breached",
        payload={},
        status=WebhookDelivery.Status.SUCCEEDED,
    )

    webhooks.deliver(delivery.pk)

    assert receiver.requests == []


def test_emit_skips_inactive_and_unsubscribed(db):
    subscribe("http://127.0.0.1:9/a", ["sla.breached"], active=False)
    subscribe("http://127.0.0.1:9/b", ["incident.created"])

    deliveries = webhooks.emit("sla.breached", {})

    assert deliveries == []
    assert WebhookDelivery.objects.count() == 0


def test_emit_without_commit_sends_nothing(db, make_receiver, fast_webhooks):
    receiver = make_receiver([200])
    subscribe(receiver.url, ["sla.breached"])

    # The test transaction never commits, so no on_commit callback runs.
    webhooks.emit("sla.breached", {})

    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING
    assert receiver.requests == []


def test_reported_incident_emits_created_event(
    make_incident, make_receiver, fast_webhooks, django_capture_on_commit_callbacks
):
    receiver = make_receiver([200])
    subscribe(receiver.url, ["incident.created", "incident.transitioned"])

    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident("triaged")

    events = [json.loads(r["body"]) for r in receiver.requests]
    assert [e["event"] for e in events] == ["incident.created", "incident.transitioned"]
    assert events[0]["data"]["incident"]["number"] == incident.number
    assert events[1]["data"]["transition"] == "triage"
    assert events[1]["data"]["to_state"] == "triaged"


def test_verify_helper_rejects_tampered_body():
    signature = webhooks.sign(SECRET, "1700000000", b'{"a": 1}')

    assert webhooks.verify(SECRET, "1700000000", b'{"a": 1}', signature)
    assert not webhooks.verify(SECRET, "1700000000", b'{"a": 2}', signature)
    assert not webhooks.verify(SECRET, "1700000001", b'{"a": 1}', signature)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)"]
)
def test_subscription_rejects_non_http_url(db, url):
    subscription = WebhookSubscription(
        name="Bad", url=url, events=["sla.breached"], secret=SECRET
    )

    with pytest.raises(ValidationError) as error:
        subscription.full_clean()

    assert "url" in error.value.message_dict


def test_subscription_rejects_unknown_event(db):
    subscription = WebhookSubscription(
        name="Bad",
        url="https://example.com/hook",
        events=["sla.exploded"],
        secret=SECRET,
    )

    with pytest.raises(ValidationError) as error:
        subscription.full_clean()

    assert "sla.exploded" in str(error.value.message_dict["events"])


def test_subscription_form_requires_long_secret(db):
    form = WebhookSubscriptionForm(
        data={
            "name": "Pager",
            "url": "https://example.com/hook",
            "events": ["sla.breached"],
            "secret": "short",
            "active": "on",
        }
    )

    assert not form.is_valid()
    assert "secret" in form.errors


def test_subscription_form_keeps_secret_when_left_empty(db):
    existing = subscribe("https://example.com/hook", ["sla.breached"])
    form = WebhookSubscriptionForm(
        instance=existing,
        data={
            "name": existing.name,
            "url": existing.url,
            "events": ["sla.breached", "sla.at_risk"],
            "secret": "",
            "active": "on",
        },
    )

    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.secret == SECRET
    assert saved.events == ["sla.breached", "sla.at_risk"]
