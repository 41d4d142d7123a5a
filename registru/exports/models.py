"""Export requests, their downloads, and the fingerprint of every exported row.

None of these holds a value of a person: a request keeps its filter as ids and flags (the
search text sealed with a key derived from the master key), and a fingerprint row keeps a
random marker, a keyed digest and the person's id, which is what the DPO needs to tell which
export a leaked file came from and whose data it holds.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from registru.exports.fields import labels


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved, queued")
    REFUSED = "refused", _("Refused")
    GENERATING = "generating", _("Being generated")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    # The file held a person who was erased: it was deleted then, before its link expired.
    ERASED = "erased", _("File deleted at an erasure")


OPEN_STATUSES = (ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.GENERATING)


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel (XLSX)")
    CSV = "csv", _("CSV (UTF-8)")


class ApprovalReason(models.TextChoices):
    SIZE = "size", _("more people than the approval threshold")
    SENSITIVE = "sensitive", _("sensitive fields")
    MASKED = "masked", _("fields the requester's role sees only on request")
    # Split exports: the requester's exports approved automatically in the last 24 hours,
    # with this one, hold more people than the threshold (docs/exports.md).
    RECENT = "recent", _("with the requester's automatic exports of the last 24 hours, more people than the threshold")
    # A grant lets its requester see (or change) another's record for a purpose; taking the
    # person out of Registru is another act, which a second person decides (docs/exports.md).
    GRANTED = "granted", _("people the requester sees only through an access grant")


class ExportRequest(models.Model):
    """One request to take people's data out of Registru, from asking to the file's deletion."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requester"), on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.TextField(_("purpose"), max_length=1000)
    # The people filter (PeopleFilter) without its search text: ids and flags only.
    criteria = models.JSONField(_("filter"), default=dict)
    # The search text may be a name: sealed (AES-GCM), shown only on the request's pages.
    sealed_query = models.TextField(blank=True, default="")
    fields = models.JSONField(_("fields"), default=list)
    format = models.CharField(_("format"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    status = models.CharField(_("status"), max_length=12, choices=ExportStatus.choices, db_index=True)
    counted = models.PositiveIntegerField(_("people at request time"), default=0)
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    approval_reasons = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), max_length=1000, blank=True)
    approval_valid_until = models.DateTimeField(_("approval valid until"), null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    capped_at = models.PositiveIntegerField(null=True, blank=True)  # people matched beyond the approved count
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    downloads = models.PositiveIntegerField(_("downloads"), default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("export request")
        verbose_name_plural = _("export requests")

    def __str__(self) -> str:
        return f"export #{self.pk}"

    @property
    def field_labels(self) -> list[str | Promise]:
        return labels(self.fields)

    @property
    def reason_labels(self) -> list[str]:
        return [str(ApprovalReason(reason).label) for reason in self.approval_reasons]

    @property
    def max_downloads(self) -> int:
        """How many times the file may be downloaded (``REGISTRU_EXPORT_MAX_DOWNLOADS``)."""
        return int(settings.EXPORT_MAX_DOWNLOADS)

    @property
    def percent(self) -> int:
        return 100 * self.progress_done // self.progress_total if self.progress_total else 0


class ExportDownload(models.Model):
    """One download of an export file: by whom, when, from where."""

    request = models.ForeignKey(ExportRequest, on_delete=models.PROTECT, related_name="download_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"download of export #{self.request_id}"


class ExportRow(models.Model):
    """The fingerprint of one row of an export file (docs/exports.md): the random marker
    written in its Ref column, and a keyed digest of its values that still matches when the
    marker column is deleted. Canary rows are made-up people unique to one export."""

    request = models.ForeignKey(ExportRequest, on_delete=models.CASCADE, related_name="rows")
    code = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=32, db_index=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    canary = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"row {self.code} of export #{self.request_id}"
