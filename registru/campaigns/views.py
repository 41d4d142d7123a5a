"""Campaign pages for managers and marketing users: list, define, start, watch, pause, resume,
cancel; and marketing mailings. They show counts, never who."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from registru.accounts.roles import Capability
from registru.campaigns import selectors, services
from registru.campaigns.audience import Audience
from registru.campaigns.forms import AudiencePreviewForm, CampaignForm, MailingForm
from registru.campaigns.models import Campaign, CampaignStatus
from registru.campaigns.services import mailings
from registru.core.pagination import InvalidCursorError, Sort, paginate
from registru.core.views import apply_errors, capability_required, form_error_text

PAGE_SIZE = 25
RUN = Capability.RUN_CAMPAIGNS


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(selectors.campaigns_for(request.user), pk=pk)


@capability_required(RUN)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaigns_for(request.user)
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        campaigns = campaigns.filter(status=status)
    try:
        page = paginate(campaigns, Sort("id", descending=True), "campaigns", request.GET.get("cursor"), PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(campaigns, Sort("id", descending=True), "campaigns", None, PAGE_SIZE)
    totals = {campaign.pk: selectors.progress(campaign)[0] for campaign in page.items}
    return render(
        request, "campaigns/list.html",
        {"page": page, "totals": totals, "status": status, "statuses": CampaignStatus.choices},
    )  # fmt: skip


@capability_required(RUN)
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(form.values(), list(form.cleaned_data["purposes"]), actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved as a draft. Check it, then start it."))
            return redirect("campaigns:detail", campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": None})


@capability_required(RUN)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    if campaign.status != CampaignStatus.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return redirect("campaigns:detail", campaign.pk)
    form = CampaignForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_campaign(
                campaign, form.values(), list(form.cleaned_data["purposes"]), actor=request.user,
                version=form.cleaned_data.get("version") or 0,
            )  # fmt: skip
        except services.StaleCampaignError:
            messages.error(request, _("Someone else changed this campaign meanwhile. Here it is as it is now."))
            return redirect("campaigns:edit", campaign.pk)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:detail", campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


@capability_required(RUN)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    total, waves = selectors.progress(campaign)
    purposes = list(campaign.purposes.all())
    context: dict[str, Any] = {"campaign": campaign, "total": total, "waves": waves, "purposes": purposes}
    if campaign.status == CampaignStatus.DRAFT:
        context["audience_size"] = selectors.audience_size(
            Audience.load(campaign.audience), purposes, campaign.channels
        )
    return render(request, "campaigns/detail.html", context)


@capability_required(RUN)
@require_GET
def campaign_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress table alone, refreshed by the page every few seconds while it runs."""
    campaign = _campaign(request, pk)
    total, waves = selectors.progress(campaign)
    return render(request, "campaigns/_progress.html", {"campaign": campaign, "total": total, "waves": waves})


ACTIONS = {
    "start": (services.start_campaign, gettext_lazy("Campaign started: the first wave is on its way.")),
    "pause": (services.pause_campaign, gettext_lazy("Campaign paused: nothing more is sent until you resume it.")),
    "resume": (services.resume_campaign, gettext_lazy("Campaign resumed.")),
    "cancel": (
        services.cancel_campaign,
        gettext_lazy("Campaign cancelled: nothing more is sent and its links are closed."),
    ),
}


@capability_required(RUN)
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = _campaign(request, pk)
    if action not in ACTIONS:
        raise Http404
    run, done = ACTIONS[action]
    try:
        run(campaign, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, str(done))
    return redirect("campaigns:detail", campaign.pk)


@capability_required(RUN)
@require_GET
def audience_preview(request: HttpRequest) -> HttpResponse:
    """How many people the audience selects right now (shown beside the form as it is filled)."""
    form = AudiencePreviewForm(request.GET)
    size = None
    if form.is_valid():
        size = selectors.audience_size(
            form.audience(), list(form.cleaned_data["purposes"]), list(form.cleaned_data["channels"])
        )
    return render(request, "campaigns/_audience_size.html", {"size": size})


# Marketing mailings --------------------------------------------------------------------------


@capability_required(RUN)
def mailing_list(request: HttpRequest) -> HttpResponse:
    mailings_qs = selectors.mailings_for(request.user)
    try:
        page = paginate(mailings_qs, Sort("id", descending=True), "mailings", request.GET.get("cursor"), PAGE_SIZE)
    except InvalidCursorError:
        page = paginate(mailings_qs, Sort("id", descending=True), "mailings", None, PAGE_SIZE)
    delivery = {mailing.pk: selectors.mailing_delivery(mailing) for mailing in page.items}
    return render(request, "campaigns/mailings.html", {"page": page, "delivery": delivery})


@capability_required(RUN)
def mailing_new(request: HttpRequest) -> HttpResponse:
    form = MailingForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                mailing = mailings.send_mailing(dict(form.cleaned_data), actor=request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Mailing queued for %(count)d person with a valid consent. "
                        "Each copy is checked again as it leaves.",
                        "Mailing queued for %(count)d people with a valid consent. "
                        "Each copy is checked again as it leaves.",
                        mailing.recipients,
                    )
                    % {"count": mailing.recipients},
                )
                return redirect("campaigns:mailings")
        else:
            messages.error(request, form_error_text(form))
    counts = {purpose.pk: mailings.consenting(purpose).count() for purpose in form.fields["purpose"].queryset}  # type: ignore[attr-defined]
    return render(request, "campaigns/mailing_form.html", {"form": form, "counts": counts})
