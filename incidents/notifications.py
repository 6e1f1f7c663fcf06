"""E-mail notifications about service levels and major incidents.

Recipients are computed inside the caller's transaction. The messages go out
through a background task after the commit, so a slow mail server never keeps a
database transaction open. With the database task backend it does not delay the
request either.
"""

import logging
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import NoReverseMatch

from incidents.roles import INCIDENT_MANAGER

logger = logging.getLogger(__name__)


class Topic:
    """The notification topics; each value is a NotificationPreference field."""

    SLA_AT_RISK = "email_sla_at_risk"
    SLA_BREACHED = "email_sla_breached"
    MAJOR_INCIDENT = "email_major_incident"


def _opted_in(users, topic):
    # A user without a preference row receives everything.
    return (
        users.filter(is_active=True)
        .exclude(email="")
        .exclude(**{f"notification_preference__{topic}": False})
    )


def incident_manager_emails(topic):
    users = get_user_model().objects.filter(groups__name=INCIDENT_MANAGER)
    return set(_opted_in(users, topic).values_list("email", flat=True))


def team_emails(team, topic):
    """Return the team's own address, if any, and its opted-in members'."""
    if team is None:
        return set()
    emails = set(_opted_in(team.members.all(), topic).values_list("email", flat=True))
    if team.email:
        emails.add(team.email)
    return emails


def incident_url(incident):
    try:
        path = incident.get_absolute_url()
    except NoReverseMatch:
        # NOTE: this happens only while the incident admin is not registered. The
        # path is the one that the admin serves once it is.
        path = f"/admin/incidents/incident/{incident.pk}/change/"
    return f"{settings.IMS_BASE_URL}{path}"


def queue(subject, body, recipients):
    """Send the message to each recipient after the current transaction commits.

    Returns the sorted recipient list, which is empty when no one opted in.
    """
    recipients = sorted(recipients)
    if recipients:
        transaction.on_commit(lambda: _enqueue(subject, body, recipients))
    return recipients


def _enqueue(subject, body, recipients):
    from incidents.tasks import send_email

    send_email.enqueue(subject, body, recipients)


def send_now(subject, body, recipients):
    """Send one message per recipient over one connection, so that recipients
    do not see each other's addresses. Returns the number sent."""
    messages = [
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        for address in recipients
    ]
    try:
        with get_connection() as connection:
            sent = connection.send_messages(messages) or 0
    except (smtplib.SMTPException, OSError) as error:
        # Re-raised so that the task is marked failed; logged here with the
        # subject, because the task log shows only the task id.
        logger.error(
            "sending %s notification e-mails failed (%s): %s",
            len(messages),
            subject,
            error,
        )
        raise
    logger.info("sent %s of %s notification e-mails: %s", sent, len(messages), subject)
    return sent


def notify_major_incident(incident, reason):
    """Tell the incident managers that an incident became major."""
    subject = f"[IMS] Major incident {incident.number}: {incident.title}"
    body = (
        f"{incident.number} is a major incident ({reason}).\n\n"
        f"Title: {incident.title}\n"
        f"Priority: {incident.get_priority_display() or 'not set'}\n"
        f"Status: {incident.get_status_display()}\n"
        f"Service: {incident.service or 'not set'}\n"
        f"Assignment group: {incident.assignment_group or 'not set'}\n\n"
        f"{incident_url(incident)}\n"
    )
    return queue(subject, body, incident_manager_emails(Topic.MAJOR_INCIDENT))


def notify_service_level(incident, clock, state, *, cache=None):
    """Tell the assignment group and the incident managers that a target of the
    incident is at risk or breached. Returns the recipients.

    cache, a dict kept by the caller for one run, saves the recipient queries
    for teams and topics already seen.
    """
    topic = Topic.SLA_BREACHED if state == "breached" else Topic.SLA_AT_RISK
    word = "BREACHED" if state == "breached" else "at risk"
    subject = (
        f"[IMS] {clock.kind.capitalize()} target {word}: {incident.number} "
        f"{incident.title}"
    )
    due = clock.due_at.isoformat() if clock.due_at else "paused"
    body = (
        f"The {clock.kind} target of {incident.number} is {word}.\n\n"
        f"Title: {incident.title}\n"
        f"Priority: {incident.get_priority_display() or 'not set'}\n"
        f"Status: {incident.get_status_display()}\n"
        f"Target: {clock.target}\n"
        f"Due: {due}\n"
        f"Clock time used: {clock.elapsed}\n"
        f"Assignment group: {incident.assignment_group or 'not set'}\n"
        f"Assignee: {incident.assignee or 'nobody'}\n\n"
        f"{incident_url(incident)}\n"
    )
    if cache is None:
        cache = {}
    team_key = ("team", incident.assignment_group_id, topic)
    if team_key not in cache:
        cache[team_key] = team_emails(incident.assignment_group, topic)
    managers_key = ("managers", topic)
    if managers_key not in cache:
        cache[managers_key] = incident_manager_emails(topic)
    return queue(subject, body, cache[team_key] | cache[managers_key])
