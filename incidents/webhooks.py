"""Signed outbound webhooks.

``emit`` stores one WebhookDelivery row per matching subscription inside the
caller's transaction, and enqueues the sending task only after the commit. So a
message exists exactly when the change it reports was stored, and a slow
receiver never keeps a database transaction open.

Every message is a POST of a JSON body with these headers:

- ``X-IMS-Event``: the event name, such as ``sla.breached``;
- ``X-IMS-Delivery``: the WebhookDelivery id, the same on every retry;
- ``X-IMS-Timestamp``: Unix time in seconds when the attempt was signed;
- ``X-IMS-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the
  subscription's secret, of ``timestamp + "." + body``.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from incidents.models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

USER_AGENT = "IMS-Webhooks/1"
# Maximum wait between two attempts, whatever the backoff base.
MAX_BACKOFF_SECONDS = 300
# Bytes of an error response kept in the delivery log.
ERROR_BODY_LIMIT = 500


def sign(secret, timestamp, body):
    """Return the X-IMS-Signature header value for a body sent at timestamp."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret, timestamp, body, signature):
    """Return whether signature is the valid signature of body at timestamp."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_body(payload):
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True).encode()


def active_subscriptions():
    return list(WebhookSubscription.objects.filter(active=True))


def emit(event, data, *, subscriptions=None):
    """Queue a message for every active subscription to event.

    data becomes the "data" member of the body. It may be a function returning
    the dict, which is then called only when some subscription wants the event,
    so that building it costs no query otherwise. subscriptions may pass the
    result of active_subscriptions() to emit many events with one query.
    Returns the deliveries created. Must run inside the transaction that stores
    the change it reports, if any.
    """
    if subscriptions is None:
        subscriptions = active_subscriptions()
    subscriptions = [s for s in subscriptions if event in s.events]
    if not subscriptions:
        return []
    if callable(data):
        data = data()
    payload = json.loads(
        encode_body(
            {"event": event, "occurred_at": timezone.now(), "data": data},
        )
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=subscription, event=event, payload=payload)
        for subscription in subscriptions
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return deliveries


def enqueue_deliveries(delivery_ids):
    from incidents.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.enqueue(delivery_id)


def _backoff_seconds(attempt):
    """Return the wait after failed attempt number attempt (1-based): the base
    setting doubled per attempt, capped at MAX_BACKOFF_SECONDS."""
    base = settings.IMS_WEBHOOK_BACKOFF_SECONDS
    return min(base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


class _Retryable(Exception):
    """A failed attempt worth repeating: a 5xx status, a timeout or a network
    error."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class _Permanent(Exception):
    """A failed attempt that a retry would not fix, such as a 4xx status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would repeat a POST as a GET without its body,
    and a signed message must reach the configured URL only."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(subscription, delivery, body):
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-IMS-Event": delivery.event,
            "X-IMS-Delivery": str(delivery.pk),
            "X-IMS-Timestamp": timestamp,
            "X-IMS-Signature": sign(subscription.secret, timestamp, body),
        },
    )
    timeout = settings.IMS_WEBHOOK_TIMEOUT_SECONDS
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        text = error.read(ERROR_BODY_LIMIT).decode("utf-8", "replace")
        message = f"HTTP {error.code}: {text}".strip()
        if error.code >= 500 or error.code == 429:
            raise _Retryable(message, error.code) from None
        raise _Permanent(message, error.code) from None
    except TimeoutError:
        raise _Retryable(f"timed out after {timeout} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise _Retryable(f"timed out after {timeout} s") from None
        raise _Retryable(f"connection failed: {error.reason}") from None
    except OSError as error:
        raise _Retryable(f"connection failed: {error}") from None


def deliver(delivery_id, *, sleep=time.sleep):
    """Send one delivery, retrying with exponential backoff, and record the
    outcome on its row. Returns the final status.

    Retries 5xx and 429 responses, timeouts and connection errors, up to
    IMS_WEBHOOK_MAX_ATTEMPTS attempts in all. Any other 4xx response and any
    redirect fail at once.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").get(
        pk=delivery_id
    )
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status
    subscription = delivery.subscription
    body = encode_body(delivery.payload)
    max_attempts = settings.IMS_WEBHOOK_MAX_ATTEMPTS

    while True:
        delivery.attempts += 1
        try:
            delivery.response_code = _post(subscription, delivery, body)
        except _Retryable as error:
            delivery.response_code = error.status
            delivery.last_error = str(error)
            if delivery.attempts < max_attempts:
                wait = _backoff_seconds(delivery.attempts)
                logger.warning(
                    "webhook delivery %s to subscription %s failed (attempt %s of "
                    "%s): %s; retrying in %.2f s",
                    delivery.pk,
                    subscription.pk,
                    delivery.attempts,
                    max_attempts,
                    error,
                    wait,
                )
                delivery.save(update_fields=["attempts", "response_code", "last_error"])
                sleep(wait)
                continue
            delivery.status = WebhookDelivery.Status.FAILED
        except _Permanent as error:
            delivery.response_code = error.status
            delivery.last_error = str(error)
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.last_error = ""
        break

    delivery.finished_at = timezone.now()
    delivery.save(
        update_fields=[
            "attempts",
            "response_code",
            "last_error",
            "status",
            "finished_at",
        ]
    )
    if delivery.status == WebhookDelivery.Status.FAILED:
        logger.error(
            "webhook delivery %s to subscription %s failed after %s attempts: %s",
            delivery.pk,
            subscription.pk,
            delivery.attempts,
            delivery.last_error,
        )
    else:
        logger.info(
            "webhook delivery %s (%s) sent to subscription %s, status %s",
            delivery.pk,
            delivery.event,
            subscription.pk,
            delivery.response_code,
        )
    return delivery.status
