"""The ITIL priority matrix: priority derived from impact and urgency.

Impact and urgency run from 1 (high) to 3 (low); priority from P1 (critical) to P5
(planning). This module is the only place that maps one to the other.
"""

from django.db import models


class Level(models.IntegerChoices):
    HIGH = 1, "1 - High"
    MEDIUM = 2, "2 - Medium"
    LOW = 3, "3 - Low"


class Priority(models.IntegerChoices):
    P1 = 1, "P1 - Critical"
    P2 = 2, "P2 - High"
    P3 = 3, "P3 - Moderate"
    P4 = 4, "P4 - Low"
    P5 = 5, "P5 - Planning"


# Rows are impact, columns are urgency, both from 1 (high) to 3 (low).
PRIORITY_MATRIX = {
    (1, 1): Priority.P1,
    (1, 2): Priority.P2,
    (1, 3): Priority.P3,
    (2, 1): Priority.P2,
    (2, 2): Priority.P3,
    (2, 3): Priority.P4,
    (3, 1): Priority.P3,
    (3, 2): Priority.P4,
    (3, 3): Priority.P5,
}


def derive_priority(impact, urgency):
    """Return the matrix priority for an impact and urgency of 1 to 3.

    Raises ValueError naming the value when either is outside 1 to 3.
    """
    try:
        return PRIORITY_MATRIX[(int(impact), int(urgency))]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"impact={impact!r} and urgency={urgency!r} must each be 1, 2 or 3."
        ) from None
