"""Authentication classes of the API.

People and integrations use DRF's per-user token (one per user, revoked by
deleting it in the admin) as ``Authorization: Token KEY`` or ``Bearer KEY``.
Monitoring systems use an intake token, which only the intake endpoint accepts.
"""

import datetime

from django.utils import timezone
from rest_framework import authentication, exceptions

from incidents.api.models import IntakeToken, hash_token

# last_used_at is written at most this often per token, so that a busy
# Alertmanager does not turn every delivery into an extra UPDATE.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def _credentials(request, keywords):
    """Return the key from an Authorization header using one of the keywords, or
    None when the header is absent or uses another scheme."""
    parts = authentication.get_authorization_header(request).split()
    if not parts or parts[0].decode("latin-1").lower() not in keywords:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            "Invalid Authorization header: write the scheme, one space and the key."
        )
    try:
        return parts[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(
            "Invalid Authorization header: the key contains non-ASCII bytes."
        ) from None


class UserTokenAuthentication(authentication.TokenAuthentication):
    """DRF's token, accepted with the keyword Token or Bearer."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        key = _credentials(request, self.keywords)
        if key is None:
            return None
        return self.authenticate_credentials(key)


class IntakeTokenAuthentication(authentication.BaseAuthentication):
    """An intake token as ``Authorization: Bearer KEY``, looked up by its digest."""

    keyword = "Bearer"

    def authenticate(self, request):
        key = _credentials(request, ("bearer",))
        if key is None:
            return None
        token = (
            IntakeToken.objects.select_related("user")
            .filter(digest=hash_token(key))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked intake token.")

        now = timezone.now()
        if (
            token.last_used_at is None
            or now - token.last_used_at > LAST_USED_RESOLUTION
        ):
            IntakeToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
