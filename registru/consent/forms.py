"""Forms of the consent pages. They parse and present; the services validate and decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from registru.consent import selectors
from registru.consent.choices import ConsentKind, ConsentMethod, ContactChannel
from registru.consent.models import Notice, Purpose
from registru.consent.services import STAFF_KINDS, STAFF_METHODS
from registru.people.choices import Language, LawfulBasis
from registru.people.models import Person

LATEST = "latest"
NO_NOTICE = "none"


class PurposeForm(forms.Form):
    """A purpose of processing. On an existing purpose the code is shown, never submitted."""

    code = forms.SlugField(
        label=_("Code"), max_length=50, help_text=_("Lowercase letters, digits and hyphens; it never changes.")
    )
    name_ro = forms.CharField(label=_("Name (Romanian)"), max_length=120)
    name_en = forms.CharField(label=_("Name (English)"), max_length=120)
    lawful_basis = forms.ChoiceField(label=_("Lawful basis"), choices=LawfulBasis.choices, initial=LawfulBasis.CONSENT)
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=ContactChannel.choices, widget=forms.CheckboxSelectMultiple
    )
    validity_days = forms.IntegerField(
        label=_("Consent valid for (days)"), required=False, min_value=1, max_value=36500,
        help_text=_("Empty: until withdrawn."),
    )  # fmt: skip
    retention_days = forms.IntegerField(label=_("Keep data for (days)"), required=False, min_value=1, max_value=36500)
    is_marketing = forms.BooleanField(label=_("Marketing"), required=False, initial=True)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, purpose: Purpose | None = None, **kwargs: Any) -> None:
        if purpose is not None:
            kwargs.setdefault("initial", {name: getattr(purpose, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        if purpose is not None:
            self.fields["code"].disabled = True  # the posted value is ignored

    def service_values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        if self.fields["code"].disabled:
            values.pop("code")
        return values


class NoticeForm(forms.Form):
    """A new version of a purpose's notice in one language."""

    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    text = forms.CharField(
        label=_("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Published as a new version; earlier versions stay exactly as they were."),
    )  # fmt: skip


class PurposeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Purpose) -> str:
        no_longer = _("no longer in use")
        suffix = "" if obj.active else f" — {no_longer}"
        return f"{obj.name(get_language() or Language.ROMANIAN)} ({obj.code}){suffix}"


class RecordConsentForm(forms.Form):
    """A consent, withdrawal or refusal that staff collected themselves."""

    purpose = PurposeChoiceField(label=_("Purpose"), queryset=Purpose.objects.order_by("-active", "code"))
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    kind = forms.ChoiceField(
        label=_("What the person said"),
        choices=[(kind.value, kind.label) for kind in ConsentKind if kind in STAFF_KINDS],
    )
    method = forms.ChoiceField(
        label=_("How"), choices=[(method.value, method.label) for method in ConsentMethod if method in STAFF_METHODS]
    )
    notice = forms.ChoiceField(
        label=_("Notice the person was shown"),
        help_text=_("Required for a consent given on paper or verbally; a withdrawal refers to no notice."),
    )
    attestation = forms.CharField(
        label=_("Attestation"), required=False, max_length=500,
        help_text=_("Paper form: the reference of the scan. Imported: where the consents come from."),
    )  # fmt: skip
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        language = Language(person.preferred_language).label
        cast("forms.ChoiceField", self.fields["notice"]).choices = [
            (LATEST, _("The latest version in %(language)s") % {"language": language}),
            (NO_NOTICE, _("None (imported without a notice)")),
            *self._versions(),
        ]

    @staticmethod
    def _versions() -> list[tuple[str, list[tuple[str, str]]]]:
        groups: dict[str, list[tuple[str, str]]] = {}
        for notice in selectors.recordable_notices():
            label = f"{notice.purpose.code} · v{notice.version} · {notice.language.upper()}"
            groups.setdefault(notice.purpose.code, []).append((str(notice.pk), label))
        return list(groups.items())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        purpose, choice = data.get("purpose"), data.get("notice")
        if purpose is None or choice is None:
            return data
        data["notice"] = self._notice(purpose, choice)
        wants_notice = data.get("kind") == ConsentKind.GRANTED and data.get("method") != ConsentMethod.IMPORTED
        if choice == LATEST and data["notice"] is None and wants_notice:
            language = Language(self.person.preferred_language).label
            self.add_error(
                "notice",
                _("This purpose has no notice in %(language)s yet: publish one, or choose a version.")
                % {"language": language},
            )
        return data

    def _notice(self, purpose: Purpose, choice: str) -> Notice | None:
        if choice == LATEST:
            return selectors.latest_notice(purpose, self.person.preferred_language)
        if choice == NO_NOTICE:
            return None
        return Notice.objects.filter(pk=int(choice)).first()
