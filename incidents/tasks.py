"""Background tasks (django-tasks) for notifications and webhooks.

With the default immediate backend they run in the enqueuing process right after
the commit; with TASKS_BACKEND=database, `python manage.py db_worker` runs them.
Arguments are ids and plain text, because the database backend stores them as
JSON.
"""

from django_tasks import task

from incidents import notifications, webhooks


@task()
def deliver_webhook(delivery_id):
    return webhooks.deliver(delivery_id)


@task()
def send_email(subject, body, recipients):
    return notifications.send_now(subject, body, recipients)
