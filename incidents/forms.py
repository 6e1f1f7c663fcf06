"""One form per incident action, with exactly the data that action needs.

The admin renders these forms and the REST API validates JSON with them, so both
check the same rules. Users are named by username, incidents by number and other
records by id.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import (
    CancelReason,
    Category,
    HoldReason,
    Incident,
    ResolutionCode,
    Service,
    Source,
    Team,
    incident_time_errors,
)
from incidents.priority import Level, Priority, derive_priority


def with_blank(choices):
    return [("", "---------"), *choices]


def active_users():
    return get_user_model().objects.filter(is_active=True)


class UsernameField(forms.ModelChoiceField):
    """A user named by username, typed rather than picked from a list that could
    hold thousands of accounts."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", active_users())
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "No active user has the username %(value)s."},
        )
        super().__init__(to_field_name="username", **kwargs)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code == "invalid_choice":
                raise forms.ValidationError(
                    f"No active user has the username {value!r}.",
                    code="invalid_choice",
                ) from None
            raise


class IncidentNumberField(forms.CharField):
    """An incident named by its number, such as INC0000045."""

    def to_python(self, value):
        value = super().to_python(value).strip().upper()
        if not value:
            return None
        incident = Incident.objects.filter(number=value).first()
        if incident is None:
            raise forms.ValidationError(f"No incident has the number {value!r}.")
        return incident


class ActionForm(forms.Form):
    """Base of the action forms, bound to the incident and the acting user."""

    action = ""
    label = ""
    # Django's admin CSS shows labels of this class in bold.
    required_css_class = "required"

    def __init__(self, data=None, *, incident, actor, **kwargs):
        self.incident = incident
        self.actor = actor
        super().__init__(data, **kwargs)

    def action_kwargs(self):
        """Return the keyword arguments of the model's transition method."""
        return dict(self.cleaned_data)

    def describe(self):
        """Return the timeline message for this action."""
        return self.label


class TriageForm(ActionForm):
    action = "triage"
    label = "Triage"

    category = forms.ModelChoiceField(
        queryset=Category.objects.select_related("parent")
    )
    service = forms.ModelChoiceField(queryset=Service.objects.all())
    # A blank first choice, so that nobody triages as P1 by leaving the default.
    impact = forms.TypedChoiceField(choices=with_blank(Level.choices), coerce=int)
    urgency = forms.TypedChoiceField(choices=with_blank(Level.choices), coerce=int)
    assignment_group = forms.ModelChoiceField(queryset=Team.objects.all())

    def describe(self):
        data = self.cleaned_data
        priority = derive_priority(data["impact"], data["urgency"])
        return (
            f"Triaged as {priority.label} (impact {data['impact']}, urgency "
            f"{data['urgency']}), category {data['category']}, service "
            f"{data['service']}, assigned to {data['assignment_group']}."
        )


class AcknowledgeForm(ActionForm):
    action = "acknowledge"
    label = "Acknowledge"

    assignee = UsernameField(
        required=False, help_text="Username of the assignee; empty means you."
    )

    def clean_assignee(self):
        assignee = self.cleaned_data["assignee"]
        if assignee is None:
            return self.actor
        group = self.incident.assignment_group
        if (
            assignee != self.actor
            and group
            and not group.members.filter(pk=assignee.pk).exists()
        ):
            raise forms.ValidationError(
                f"{assignee.get_username()} is not a member of {group}, the "
                "incident's assignment group."
            )
        return assignee

    def describe(self):
        return f"Acknowledged; assigned to {self.cleaned_data['assignee']}."


class MitigateForm(ActionForm):
    action = "mitigate"
    label = "Mitigate"

    workaround = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))

    def describe(self):
        return f"Mitigated with a workaround: {self.cleaned_data['workaround']}"


class InvestigateForm(ActionForm):
    action = "investigate"
    label = "Investigate"

    investigation_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def describe(self):
        notes = self.cleaned_data["investigation_notes"]
        return f"Investigation started. {notes}".strip()


class ResolveForm(ActionForm):
    action = "resolve"
    label = "Resolve"

    resolution_code = forms.ChoiceField(choices=with_blank(ResolutionCode.choices))
    resolution_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    recovery_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required for P1 and P2 incidents.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.incident.priority in (Priority.P1, Priority.P2):
            self.fields["root_cause"].required = True

    def describe(self):
        data = self.cleaned_data
        code = ResolutionCode(data["resolution_code"]).label
        return f"Resolved ({code}): {data['resolution_notes']}"


class CloseForm(ActionForm):
    action = "close"
    label = "Close"

    closure_verified_by = UsernameField(
        required=False,
        help_text="Username of who verified the resolution; empty means you.",
    )
    closure_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def clean_closure_verified_by(self):
        verifier = self.cleaned_data["closure_verified_by"] or self.actor
        # A reporter confirming their own incident's resolution is the verifier;
        # only holders of the close permission may record someone else.
        if verifier != self.actor and not self.actor.has_perm(
            "incidents.close_incident"
        ):
            raise forms.ValidationError(
                f"You may record only yourself as the verifier, not "
                f"{verifier.get_username()}."
            )
        return verifier

    def describe(self):
        data = self.cleaned_data
        verifier = data["closure_verified_by"]
        return f"Closed; verified by {verifier}: {data['closure_notes']}"


class ReopenForm(ActionForm):
    action = "reopen"
    label = "Reopen"

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def describe(self):
        return f"Reopened: {self.cleaned_data['reason']}"


class HoldForm(ActionForm):
    action = "hold"
    label = "Put on hold"

    hold_reason = forms.ChoiceField(choices=with_blank(HoldReason.choices))
    hold_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def describe(self):
        data = self.cleaned_data
        return f"On hold ({HoldReason(data['hold_reason']).label}): {data['hold_note']}"


class ResumeForm(ActionForm):
    action = "resume"
    label = "Resume"

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def describe(self):
        return f"Resumed. {self.cleaned_data['note']}".strip()


class CancelForm(ActionForm):
    action = "cancel"
    label = "Cancel incident"

    cancel_reason = forms.ChoiceField(choices=with_blank(CancelReason.choices))
    duplicate_of = IncidentNumberField(
        required=False, help_text="Number of the original, when this is a duplicate."
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean(self):
        data = super().clean()
        reason = data.get("cancel_reason")
        original = data.get("duplicate_of")
        if reason == CancelReason.DUPLICATE and original is None:
            self.add_error("duplicate_of", "Name the incident this one duplicates.")
        if reason and reason != CancelReason.DUPLICATE and original is not None:
            self.add_error(
                "duplicate_of", "Only a duplicate names the incident it duplicates."
            )
        if original is not None and original.pk == self.incident.pk:
            self.add_error("duplicate_of", "An incident cannot duplicate itself.")
        return data

    def describe(self):
        data = self.cleaned_data
        text = f"Cancelled: {CancelReason(data['cancel_reason']).label}"
        if data.get("duplicate_of"):
            text += f" of {data['duplicate_of'].number}"
        if data.get("note"):
            text += f". {data['note']}"
        return text + "."


class ReassignForm(ActionForm):
    action = "reassign"
    label = "Reassign"

    assignment_group = forms.ModelChoiceField(queryset=Team.objects.all())
    assignee = UsernameField(required=False)

    def clean(self):
        data = super().clean()
        group = data.get("assignment_group")
        assignee = data.get("assignee")
        if group and assignee and not group.members.filter(pk=assignee.pk).exists():
            self.add_error(
                "assignee", f"{assignee.get_username()} is not a member of {group}."
            )
        return data

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # describe() runs after the change, so keep the team it is moving from.
        self.previous_group = self.incident.assignment_group

    def describe(self):
        data = self.cleaned_data
        text = f"Reassigned from {self.previous_group} to "
        text += str(data["assignment_group"])
        if data.get("assignee"):
            text += f", assignee {data['assignee']}"
        return text + "."


class DeclareMajorForm(ActionForm):
    action = "declare_major"
    label = "Declare major incident"

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def describe(self):
        return f"Declared a major incident: {self.cleaned_data['reason']}"


class OverridePriorityForm(ActionForm):
    action = "override_priority"
    label = "Override priority"

    priority = forms.TypedChoiceField(choices=with_blank(Priority.choices), coerce=int)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # describe() runs after the change, so keep the priority it replaces.
        self.previous_priority = self.incident.get_priority_display() or "none"

    def describe(self):
        data = self.cleaned_data
        new = Priority(data["priority"]).label
        return (
            f"Priority overridden from {self.previous_priority} to {new}: "
            f"{data['reason']}"
        )


ACTION_FORMS = {
    form.action: form
    for form in (
        TriageForm,
        AcknowledgeForm,
        MitigateForm,
        InvestigateForm,
        ResolveForm,
        CloseForm,
        ReopenForm,
        HoldForm,
        ResumeForm,
        CancelForm,
        ReassignForm,
        DeclareMajorForm,
        OverridePriorityForm,
    )
}


class ReportForm(forms.ModelForm):
    """The data that logging a new incident needs."""

    class Meta:
        model = Incident
        fields = [
            "title",
            "description",
            "source",
            "detected_at",
            "started_at",
            "service",
            "location",
        ]

    def __init__(self, *args, alert_intake=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["detected_at"].initial = timezone.now
        self.fields["detected_at"].required = True
        self.fields["source"].initial = Source.WEB
        if not alert_intake:
            # Only the alert intake files incidents as coming from Alertmanager,
            # so that the by-source figures can be trusted.
            self.fields["source"].choices = [
                choice
                for choice in self.fields["source"].choices
                if choice[0] != Source.ALERTMANAGER
            ]

    def clean(self):
        data = super().clean()
        errors = incident_time_errors(data.get("started_at"), data.get("detected_at"))
        for name, message in errors.items():
            self.add_error(name, message)
        return data
