"""Open a draft review when a major incident is resolved."""

from django.dispatch import receiver
from django_fsm.signals import post_transition

from incidents.models import Incident


@receiver(post_transition, sender=Incident, dispatch_uid="reviews_open_on_resolve")
def open_review_on_major_resolution(sender, instance, name, **kwargs):
    # django-fsm sends the signal after the transition method ran and before the
    # caller saves, inside incidents.services.run_action's transaction: the draft
    # is stored or rolled back together with the resolution. An exception state
    # (kwargs["exception"]) never applies here because resolve has none.
    if name != "resolve" or not instance.is_major or instance.pk is None:
        return
    from reviews.services import open_review

    open_review(instance)
