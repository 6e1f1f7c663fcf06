"""Who may do what with reviews, action items and trend reports: the one place
that decides it.

The admin, the REST API and the FSM transitions call these functions. Model
permissions come from the role groups (see incidents.roles): Reviewers hold the
change and transition permissions, the other staff roles hold view permissions,
and a Responder may progress the action items they own.
"""

REVIEW_ACTIONS = ("submit", "return", "publish")
# Action item transitions an owner may run with reviews.update_own_actionitem.
OWNER_ACTION_ITEM_ACTIONS = ("start", "complete")
ACTION_ITEM_ACTIONS = ("start", "complete", "cancel")


def _active(user):
    return bool(user and user.is_authenticated and user.is_active)


def can_view_reviews(user):
    return _active(user) and user.has_perm("reviews.view_postincidentreview")


def can_edit_review(user, review):
    """Return whether the user may change the review's text and links now."""
    if not _active(user) or not user.has_perm("reviews.change_postincidentreview"):
        return False
    return review.is_editable


def review_refusal(user, review, action):
    """Return why the user may not run the review transition, or None if they may."""
    if not _active(user):
        return "You must be logged in with an active account."
    if not user.has_perm(f"reviews.{action}_review"):
        return f"Your role does not include the permission to {action} reviews."
    return None


def review_permission(action):
    """Return a django-fsm ``permission`` callable applying review_refusal."""

    def check(instance, user):
        return review_refusal(user, instance, action) is None

    check.__name__ = f"may_{action}_review"
    return check


def action_item_refusal(user, item, action):
    """Return why the user may not run the action item transition, or None."""
    if not _active(user):
        return "You must be logged in with an active account."
    if user.has_perm("reviews.change_actionitem"):
        return None
    if action in OWNER_ACTION_ITEM_ACTIONS and user.has_perm(
        "reviews.update_own_actionitem"
    ):
        if item.owner_id == user.pk:
            return None
        return f"You may {action} only action items that you own."
    return f"Your role does not include the permission to {action} action items."


def action_item_permission(action):
    def check(instance, user):
        return action_item_refusal(user, instance, action) is None

    check.__name__ = f"may_{action}_action_item"
    return check


def can_edit_action_item(user, item):
    """Return whether the user may change the item's title, owner, due date and so
    on. Owners without the change permission progress it through transitions only."""
    return _active(user) and user.has_perm("reviews.change_actionitem")


def can_build_reports(user):
    return _active(user) and user.has_perm("reviews.build_trendreport")


def can_view_reports(user):
    return _active(user) and user.has_perm("reviews.view_trendreport")
