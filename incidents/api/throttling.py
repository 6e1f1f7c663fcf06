"""Throttles whose rates come from settings.IMS_API_THROTTLE_RATES."""

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle


class SettingsScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, reading the rate at request time.

    DRF copies its rate table when its settings module is first used, so a rate
    changed later in the settings (by a test, for example) would be ignored. A
    scope whose rate is None is not throttled.
    """

    def get_rate(self):
        return settings.IMS_API_THROTTLE_RATES.get(self.scope)
