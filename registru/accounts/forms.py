from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “ERP sync”."))
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=365, initial=90)
