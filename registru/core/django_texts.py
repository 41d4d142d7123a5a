"""Django's own messages that Registru translates again into Romanian.

Django's Romanian catalogue writes some messages with the cedilla letters ş and ţ, which
Romanian replaced long ago with ș and ț (comma below), and some with a space before the full
stop after a placeholder ("… mai mică sau egală cu 7 ."). Registru's catalogue takes precedence
over Django's (``LOCALE_PATHS``); naming the messages here keeps them in it, since
``makemessages`` collects only what Registru's code names. ``core/tests/test_translations.py``
checks every Romanian message Django and Registru can show.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext_lazy

DJANGO_MESSAGES = (
    # Form and model validation, as users meet it.
    gettext_noop("Ensure this value is %(limit_value)s (it is %(show_value)s)."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    gettext_noop("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_noop("Enter a number."),
    gettext_noop("Enter a whole number."),
    gettext_noop("Enter a valid IPv4 address."),
    gettext_noop("Enter only digits separated by commas."),
    gettext_noop("Please correct the duplicate data for %(field)s, which must be unique."),
    gettext_noop("Please correct the duplicate data for %(field)s."),
    gettext_noop(
        "Please correct the duplicate data for %(field_name)s which must be unique for the %(lookup)s "
        "in %(date_field)s."
    ),
    gettext_noop("Please correct the duplicate values below."),
    gettext_noop("Please either submit a file or check the clear checkbox, not both."),
    gettext_noop("Upload a valid image. The file you uploaded was either not an image or a corrupted image."),
    # The empty choice of a select box (new in Django 6.1, not yet in its Romanian catalogue).
    gettext_noop("- Select an option -"),
    # Signing in and accounts (django.contrib.auth).
    gettext_noop("Please enter a correct %(username)s and password. Note that both fields may be case-sensitive."),
    gettext_noop(
        "Designates whether this user should be treated as active. Unselect this instead of deleting accounts."
    ),
    gettext_noop("Designates that this user has all permissions without explicitly assigning them."),
    # Descriptions of fields and views, in messages for developers that may still be shown.
    gettext_noop("One-to-one relationship"),
    gettext_noop("String (up to %(max_length)s)"),
    gettext_noop("Future %(verbose_name_plural)s not available because %(class_name)s.allow_future is False."),
)
FILE_SIZE = ngettext_lazy("%(size)d byte", "%(size)d bytes", "size")
