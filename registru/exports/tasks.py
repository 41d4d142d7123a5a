"""Export files are made in the background; a periodic sweep deletes the expired ones."""

from __future__ import annotations

from django.tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from registru.exports.services import expire_exports, generate_export


@task()
def generate(export_id: int) -> int | None:
    export = generate_export(export_id)
    return export.row_count if export is not None else None


@db_periodic_task(crontab(minute="*/10"))
def expire_export_files() -> int:
    return expire_exports()
