from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """The top layer: its management commands shadow Django's where Django's would let personal
    data out around Registru's procedures (``dumpdata``)."""

    name = "registru.config"
    label = "registru_config"
    verbose_name = _("Configuration")
