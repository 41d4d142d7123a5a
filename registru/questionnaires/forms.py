"""Forms of the questionnaire pages. They parse and present; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registru.people.choices import Language, OrganizationStatus
from registru.questionnaires.fields import GROUPS
from registru.questionnaires.models import Question, QuestionKind, Questionnaire, Schedule

DEFAULT_BODY_RO = "Bună ziua, {name}!\n\nVă rugăm să verificați datele pe care le avem despre dumneavoastră:\n{link}"
DEFAULT_BODY_EN = "Hello {name},\n\nPlease check the data we hold about you:\n{link}"


class QuestionnaireForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    groups = forms.MultipleChoiceField(
        label=_("Data people confirm or correct"), widget=forms.CheckboxSelectMultiple,
        choices=[(group.code, group.label) for group in GROUPS],
    )  # fmt: skip
    intro_ro = forms.CharField(label=_("Introduction (Romanian)"), widget=forms.Textarea(attrs={"rows": 3}))
    intro_en = forms.CharField(label=_("Introduction (English)"), widget=forms.Textarea(attrs={"rows": 3}))
    subject_ro = forms.CharField(label=_("Subject (Romanian)"), max_length=200)
    body_ro = forms.CharField(label=_("Message (Romanian)"), widget=forms.Textarea(attrs={"rows": 5}),
                              initial=DEFAULT_BODY_RO)  # fmt: skip
    subject_en = forms.CharField(label=_("Subject (English)"), max_length=200)
    body_en = forms.CharField(label=_("Message (English)"), widget=forms.Textarea(attrs={"rows": 5}),
                              initial=DEFAULT_BODY_EN)  # fmt: skip
    every_months = forms.IntegerField(
        label=_("Ask again every (months)"), min_value=1, max_value=120, initial=12,
        help_text=_("Counted from when the person last confirmed their data."),
    )  # fmt: skip
    schedule = forms.ChoiceField(label=_("Schedule"), choices=Schedule.choices, initial=Schedule.SINCE_VERIFIED,
                                 widget=forms.RadioSelect)  # fmt: skip
    next_round_at = forms.DateTimeField(
        label=_("First round starts"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("For rounds only; later rounds follow every N months."),
    )  # fmt: skip
    language = forms.ChoiceField(label=_("Only people who speak"), required=False,
                                 choices=[("", _("any language")), *Language.choices])  # fmt: skip
    organization_status = forms.ChoiceField(label=_("Only people at organizations that are"), required=False,
                                            choices=[("", _("any status")), *OrganizationStatus.choices])  # fmt: skip
    review = forms.BooleanField(label=_("Corrections wait for review by the owner or a manager"), required=False,
                                initial=True)  # fmt: skip
    reminders = forms.IntegerField(label=_("Reminders"), min_value=0, max_value=5, initial=2)
    reminder_days = forms.IntegerField(label=_("Days between reminders"), min_value=1, max_value=60, initial=7)
    valid_days = forms.IntegerField(label=_("Link valid for (days)"), min_value=1, max_value=180, initial=30)
    active = forms.BooleanField(label=_("Active (people who are due are asked)"), required=False)

    def __init__(self, *args: Any, questionnaire: Questionnaire | None = None, **kwargs: Any) -> None:
        if questionnaire is not None:
            initial = {name: getattr(questionnaire, name) for name in self.base_fields if hasattr(questionnaire, name)}
            initial |= {key: questionnaire.audience.get(key, "") for key in ("language", "organization_status")}
            initial["groups"] = questionnaire.fields
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        audience = {key: data.pop(key) for key in ("language", "organization_status") if data.get(key)}
        data.pop("language", None)
        data.pop("organization_status", None)
        groups = data.pop("groups")
        return data | {"audience": audience, "fields": groups}


class QuestionForm(forms.Form):
    # An empty extra row posts the first kind: as its initial value, the row counts as unchanged.
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices, initial=QuestionKind.TEXT)
    label_ro = forms.CharField(label=_("Question (Romanian)"), max_length=300)
    label_en = forms.CharField(label=_("Question (English)"), max_length=300)
    options = forms.CharField(
        label=_("Options"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For choices: one per line, “Romanian / English”."),
    )  # fmt: skip
    required = forms.BooleanField(label=_("Required"), required=False)

    def question(self) -> dict[str, Any]:
        data = self.cleaned_data
        options = []
        for line in data["options"].splitlines():
            if line.strip():
                ro, _sep, en = line.partition("/")
                options.append({"ro": ro.strip(), "en": (en or ro).strip()})
        keeps_options = data["kind"] in (QuestionKind.CHOICE, QuestionKind.MULTIPLE)
        return {"kind": data["kind"], "label_ro": data["label_ro"], "label_en": data["label_en"],
                "options": options if keeps_options else [], "required": data["required"]}  # fmt: skip


QuestionFormSet = forms.formset_factory(QuestionForm, extra=2, can_delete=True, max_num=20)


def question_initial(questions: list[Question]) -> list[dict[str, Any]]:
    return [
        {
            "kind": q.kind,
            "label_ro": q.label_ro,
            "label_en": q.label_en,
            "required": q.required,
            "options": "\n".join(f"{o.get('ro', '')} / {o.get('en', '')}" for o in q.options),
        }
        for q in questions
    ]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
