"""Starting Huey consumers, inside ``registru serve`` or as ``registru worker``."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY


def make_consumer(*, workers: int | None = None, periodic: bool) -> Consumer:
    autodiscover_modules("tasks")
    return HUEY.create_consumer(
        workers=workers or settings.HUEY["consumer"]["workers"],  # type: ignore[index]
        worker_type="thread",
        periodic=periodic,
        check_worker_health=True,
        shutdown_timeout=30,
        flush_locks=False,
    )


def start_consumer(*, periodic: bool) -> Consumer:
    consumer = make_consumer(periodic=periodic)
    consumer.start()
    return consumer
