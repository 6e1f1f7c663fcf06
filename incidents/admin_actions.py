"""Incident actions in the admin: one page per action, the comment box, and the
bulk actions of the incident list.

Every change goes through incidents.services, which locks the row, checks
incidents.rules and writes the timeline. Nothing here decides a permission.
"""

import logging
from collections import defaultdict

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from incidents import rules, services
from incidents.forms import ACTION_FORMS
from incidents.models import (
    Category,
    HoldReason,
    IncidentConflict,
    Status,
    Team,
)
from incidents.priority import Level

logger = logging.getLogger(__name__)


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def action_url(incident, action):
    return reverse("admin:incidents_incident_action", args=[incident.pk, action])


def action_initial(incident, action):
    """Return the action form's initial values taken from the incident."""
    if action == "triage":
        team = incident.service.owning_team if incident.service_id else None
        return {
            "category": incident.category_id,
            "service": incident.service_id,
            "impact": incident.impact,
            "urgency": incident.urgency,
            "assignment_group": incident.assignment_group_id or (team and team.pk),
        }
    if action == "override_priority":
        return {"priority": incident.priority}
    return {}


def parse_version(raw):
    try:
        version = int(raw)
    except (TypeError, ValueError):
        return None
    return version if version > 0 else None


def action_view(model_admin, request, object_id, action):
    """Show the form of one action (GET) and run it (POST)."""
    incident = model_admin.get_object(request, object_id)
    if incident is None:
        return model_admin._get_obj_does_not_exist_redirect(
            request, model_admin.opts, object_id
        )
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404(f"{action!r} is not an incident action.")

    refusal = rules.transition_refusal(request.user, incident, action)
    if request.method != "POST":
        if refusal:
            return render_action(model_admin, request, incident, action, None, refusal)
        form = form_class(
            incident=incident,
            actor=request.user,
            initial=action_initial(incident, action),
        )
        return render_action(model_admin, request, incident, action, form)

    version = parse_version(request.POST.get("version"))
    if version is None:
        messages.error(
            request,
            f"The form carried no valid version ({request.POST.get('version')!r}); "
            "reload the incident and try again.",
        )
        return redirect(change_url(incident))
    try:
        updated = services.run_action(
            incident, action, request.user, request.POST, expected_version=version
        )
    except services.ActionInvalid as error:
        return render_action(model_admin, request, incident, action, error.form)
    except services.ActionRefused as error:
        messages.error(request, f"{form_class.label} refused: {error}")
        return redirect(change_url(incident))
    except IncidentConflict as error:
        messages.error(request, f"Conflict: {error}")
        return redirect(change_url(incident))

    messages.success(
        request,
        f"{updated.number}: {form_class.label.lower()} done; the incident is now "
        f"{updated.get_status_display().lower()}.",
    )
    return redirect(change_url(updated))


def render_action(model_admin, request, incident, action, form, refusal=None):
    form_class = ACTION_FORMS[action]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{form_class.label}: {incident.number}",
        "subtitle": incident.title,
        "incident": incident,
        "original": incident,
        "action": action,
        "action_label": form_class.label,
        "form": form,
        "refusal": refusal,
        "version": incident.version,
        "change_url": change_url(incident),
        "has_view_permission": True,
    }
    return TemplateResponse(
        request,
        "admin/incidents/incident/action_form.html",
        context,
        status=403 if refusal else 200,
    )


def comment_view(model_admin, request, object_id):
    """Append a comment from the change page's comment box (POST only)."""
    incident = model_admin.get_object(request, object_id)
    if incident is None:
        return model_admin._get_obj_does_not_exist_redirect(
            request, model_admin.opts, object_id
        )
    if request.method != "POST":
        return redirect(change_url(incident))
    try:
        services.add_comment(incident, request.user, request.POST.get("text", ""))
    except services.ActionRefused as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Comment added to {incident.number}.")
    return redirect(change_url(incident) + "#timeline")


# Bulk actions


def group_key(incident, reason):
    """Return the refusal reason with the incident's number taken out, so that
    incidents refused for the same reason are reported together."""
    return reason.replace(incident.number, "it", 1)


def refusal_text(error):
    if isinstance(error, services.ActionInvalid):
        return "; ".join(
            f"{field if field != '__all__' else 'data'}: {' '.join(msgs)}"
            for field, msgs in error.form.errors.items()
        )
    return str(error)


# Most incidents one bulk action runs on, unless settings.IMS_ADMIN_BULK_LIMIT
# sets another value. Each runs in its own transaction, so a much larger selection
# would hold the request for minutes.
BULK_LIMIT = 500


def run_bulk(request, queryset, action, data_for, done_label):
    """Run an action on each selected incident, each with its own permission and
    state checks, and report the successes and the refusals grouped by reason.

    A selection of more than BULK_LIMIT incidents is rejected whole.
    """
    limit = getattr(settings, "IMS_ADMIN_BULK_LIMIT", BULK_LIMIT)
    selected = queryset.count()
    if selected > limit:
        messages.error(
            request,
            f"{selected} incidents are selected; a bulk action runs on at most "
            f"{limit}. Narrow the filters and try again. Nothing was changed.",
        )
        return 0, {}
    done = 0
    refused = defaultdict(list)
    incidents = queryset.select_related("assignment_group", "service").order_by(
        "number"
    )
    for incident in incidents:
        try:
            services.run_action(
                incident,
                action,
                request.user,
                data_for(incident),
                expected_version=incident.version,
            )
        except (
            services.ActionRefused,
            services.ActionInvalid,
            IncidentConflict,
        ) as error:
            refused[group_key(incident, refusal_text(error))].append(incident.number)
        else:
            done += 1
    logger.info(
        "bulk %s by %s: %d done, %d rejected",
        action,
        request.user.get_username(),
        done,
        sum(len(numbers) for numbers in refused.values()),
    )

    if done:
        noun = "incident" if done == 1 else "incidents"
        messages.success(request, f"{done_label} {done} {noun}.")
    for reason, numbers in refused.items():
        shown = ", ".join(numbers[:10])
        if len(numbers) > 10:
            shown += f" and {len(numbers) - 10} more"
        messages.warning(request, f"{len(numbers)} refused ({shown}): {reason}")
    return done, refused


# Incident numbers listed on a bulk action's confirmation page.
PREVIEW_LIMIT = 30


def intermediate_page(model_admin, request, queryset, action, title, form, note):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "note": note,
        "form": form,
        "bulk_action": action,
        "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "selected_preview": list(
            queryset.order_by("number").values_list("pk", "number")[:PREVIEW_LIMIT]
        ),
        "selected_count": queryset.count(),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(
        request, "admin/incidents/incident/bulk_action.html", context
    )


@admin.action(description="Acknowledge selected incidents", permissions=["acknowledge"])
def acknowledge_selected(model_admin, request, queryset):
    run_bulk(request, queryset, "acknowledge", lambda incident: {}, "Acknowledged")


class AssignTeamForm(forms.Form):
    assignment_group = forms.ModelChoiceField(queryset=Team.objects.all(), label="Team")
    category = forms.ModelChoiceField(
        queryset=Category.objects.select_related("parent"),
        required=False,
        help_text="Used to triage new incidents only; others keep their category.",
    )
    impact = forms.TypedChoiceField(
        choices=[("", "---------"), *Level.choices],
        coerce=int,
        required=False,
        help_text="Used to triage new incidents only.",
    )
    urgency = forms.TypedChoiceField(
        choices=[("", "---------"), *Level.choices],
        coerce=int,
        required=False,
        help_text="Used to triage new incidents only.",
    )


def triage_or_reassign_data(form_data):
    def data_for(incident):
        team = form_data["assignment_group"]
        if incident.status == Status.NEW:
            category = form_data.get("category")
            return {
                "category": category.pk if category else incident.category_id,
                "service": incident.service_id,
                "impact": form_data.get("impact") or incident.impact,
                "urgency": form_data.get("urgency") or incident.urgency,
                "assignment_group": team.pk,
            }
        return {"assignment_group": team.pk}

    return data_for


@admin.action(description="Assign selected incidents to a team", permissions=["assign"])
def assign_to_team(model_admin, request, queryset):
    form = AssignTeamForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        data_for = triage_or_reassign_data(form.cleaned_data)
        # New incidents are triaged, the others reassigned: two runs so that each
        # reports under its own name.
        new = queryset.filter(status=Status.NEW)
        others = queryset.exclude(status=Status.NEW)
        if new.exists():
            run_bulk(request, new, "triage", data_for, "Triaged and assigned")
        if others.exists():
            run_bulk(request, others, "reassign", data_for, "Reassigned")
        return None
    return intermediate_page(
        model_admin,
        request,
        queryset,
        "assign_to_team",
        "Assign incidents to a team",
        form,
        "New incidents are triaged: they need a service from their report, and a "
        "category, impact and urgency from their report or from this form. Other "
        "incidents are reassigned.",
    )


class CloseForm(forms.Form):
    closure_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


@admin.action(description="Close selected resolved incidents", permissions=["close"])
def close_resolved(model_admin, request, queryset):
    form = CloseForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        notes = form.cleaned_data["closure_notes"]
        run_bulk(
            request,
            queryset,
            "close",
            lambda incident: {"closure_notes": notes},
            "Closed",
        )
        return None
    return intermediate_page(
        model_admin,
        request,
        queryset,
        "close_resolved",
        "Close resolved incidents",
        form,
        "You are recorded as the person who verified each resolution.",
    )


class HoldForm(forms.Form):
    hold_reason = forms.ChoiceField(choices=HoldReason.choices)
    hold_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


@admin.action(description="Put selected incidents on hold", permissions=["hold"])
def hold_selected(model_admin, request, queryset):
    form = HoldForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        data = dict(form.cleaned_data)
        run_bulk(request, queryset, "hold", lambda incident: data, "Put on hold")
        return None
    return intermediate_page(
        model_admin,
        request,
        queryset,
        "hold_selected",
        "Put incidents on hold",
        form,
        "The service-level clock pauses while an incident is on hold.",
    )


@admin.action(description="Resume selected incidents on hold", permissions=["resume"])
def resume_selected(model_admin, request, queryset):
    run_bulk(request, queryset, "resume", lambda incident: {}, "Resumed")


BULK_ACTIONS = (
    acknowledge_selected,
    assign_to_team,
    close_resolved,
    hold_selected,
    resume_selected,
)
