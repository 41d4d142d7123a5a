from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from registru.accounts.models import AccessRequest, RolePolicy, User
from registru.accounts.models.grants import GrantAccess, IdentifiedBy

MAX_DAYS = 90  # the most an access request may ask for (``accounts.grants`` checks it too)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “ERP sync”."))
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=365, initial=90)


class LoginForm(AuthenticationForm):
    """The password step; django's checks (active account, throttling through axes)."""


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=24,
        help_text=_("The six digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "autofocus": True}),
    )


class SessionFilterForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.none(), required=False, empty_label=_("All users")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(device_sessions__ended_at__isnull=True).distinct()  # type: ignore[attr-defined]


class AccessRequestForm(forms.Form):
    """Ask for a record outside one's scope, named by something the requester knows."""

    identified_by = forms.ChoiceField(
        label=_("I know the record by"), choices=IdentifiedBy.choices, initial=IdentifiedBy.EMAIL
    )
    identifier = forms.CharField(
        label=_("Email address, phone number or tax id"),
        max_length=254,
        help_text=_("Exactly as the record has it: a person's email address or phone, an organization's CUI."),
    )
    access = forms.ChoiceField(label=_("Access"), choices=GrantAccess.choices, initial=GrantAccess.VIEW)
    days = forms.IntegerField(label=_("For how many days"), min_value=1, max_value=MAX_DAYS, initial=7)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The person who decides reads it; so does the audit trail."),
    )  # fmt: skip


class ApproveAccessForm(forms.Form):
    """Approve what was asked, or less: fewer days, or view only."""

    days = forms.IntegerField(label=_("For how many days"), min_value=1)
    access = forms.ChoiceField(label=_("Access"), choices=GrantAccess.choices)
    note = forms.CharField(label=_("Note for the requester"), max_length=500, required=False)

    def __init__(self, *args: Any, request: AccessRequest, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"days": request.days, "access": request.access})
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        assert isinstance(days, forms.IntegerField)
        days.max_value = request.days
        days.validators.append(MaxValueValidator(request.days))
        days.widget.attrs["max"] = request.days
        if request.access == GrantAccess.VIEW:
            access = self.fields["access"]
            assert isinstance(access, forms.ChoiceField)
            access.choices = [(GrantAccess.VIEW.value, GrantAccess.VIEW.label)]


class RefuseAccessForm(forms.Form):
    # Shown beside the approval form, which has a note too: ids of their own, so that each
    # label points to its own field.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "refuse_%s")
        super().__init__(*args, **kwargs)

    note = forms.CharField(
        label=_("Note for the requester"), max_length=500, required=False,
        help_text=_("Optional. The requester reads it."),
    )  # fmt: skip


class RevokeAccessForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class AccessProcedureForm(forms.Form):
    """Administrators: make an organization a key account, or an ordinary one again."""

    required = forms.BooleanField(
        label=_("Access only by request (key account)"), required=False,
        help_text=_("Managers and team members other than the owner then need an approved access request."),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=500)


class RolePolicyForm(forms.ModelForm):
    """One role's access policy, with the reason for changing it (kept in the audit trail)."""

    reason = forms.CharField(label=_("Reason for the change"), max_length=500)

    class Meta:
        model = RolePolicy
        fields = [
            "contact", "sensitive", "views_per_hour_soft", "views_per_hour_hard", "views_per_day_soft",
            "views_per_day_hard", "idle_minutes", "session_hours", "require_two_factor",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for window in ("hour", "day"):
            soft, hard = data.get(f"views_per_{window}_soft"), data.get(f"views_per_{window}_hard")
            if soft is not None and hard is not None and soft > hard:
                self.add_error(f"views_per_{window}_soft", _("The alert limit must not be above the blocking limit."))
        for name in ("views_per_hour_hard", "views_per_day_hard", "idle_minutes", "session_hours"):
            if data.get(name) == 0:
                self.add_error(name, _("Must be at least 1."))
        return data


class LiftBlockForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
