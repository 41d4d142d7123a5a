"""``registru audit verify [--state] | seal | checkpoint | export | prune | commit-state | keygen |
rotate-key | public-key``.

``verify`` exits 0 when the trail is intact, 1 when damage is found, 2 on usage errors (a
missing signing key among them: it is restored from the backup, never made anew by a check).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from registru.audit.models import AuditCheckpoint
from registru.audit.services import checkpoints
from registru.audit.services.sealing import seal
from registru.audit.signing import (
    Checkpoint,
    KeyHistoryError,
    SigningKeyMissingError,
    fingerprint,
    generate_key_file,
    has_signing_key,
    key_file,
    rotate_signing_key,
    trusted_keys,
)
from registru.audit.verify import Report, verify


class Command(BaseCommand):
    help = "Verify, seal and checkpoint the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("verify", help="Verify the trail; exit 0 if intact, 1 if damaged.")
        check.add_argument("--since", type=int, default=0, help="Start at the batch holding this event id.")
        check.add_argument("--checkpoint", action="append", default=[], help="A checkpoint file to check against.")
        check.add_argument("--deep", action="store_true", help="Also read every event's own position.")
        check.add_argument("--quiet", action="store_true", help="No progress output.")
        check.add_argument(
            "--trail-only", action="store_true", help="The trail alone: leave out the check of the people's data keys."
        )
        check.add_argument(
            "--state", action="store_true",
            help="Instead, compare every audited record's live row with the state its latest event committed to.",
        )  # fmt: skip
        check.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1,
            help="Processes that check batches side by side (default: one per CPU; 1: this process only).",
        )  # fmt: skip
        sub.add_parser("seal", help="Seal the events that are final into batches.")
        point = sub.add_parser("checkpoint", help="Seal, then write a signed checkpoint.")
        point.add_argument("--out", help="Write the checkpoint file here (default: the data directory).")
        point.add_argument("--email", action="store_true", help="Also mail it to the DPO.")
        sub.add_parser("public-key", help="Print the public keys that verification trusts (the signing key last).")
        sub.add_parser("keygen", help="Make the signing key of a new installation (refuses to replace one).")
        sub.add_parser("rotate-key", help="A new signing key, endorsed by the current one.")
        sub.add_parser(
            "commit-state", help="Commit the state of every record whose latest event has none (after an upgrade)."
        )
        export = sub.add_parser("export", help="Export a person's trail (or the whole trail) as PDF, JSON or CSV.")
        export.add_argument("--person", type=int, help="The person's id (default: the whole trail).")
        export.add_argument("--format", choices=["pdf", "json", "csv"], required=True)
        export.add_argument("--out", required=True)
        export.add_argument("--language", choices=["ro", "en"], default="ro")
        prune = sub.add_parser("prune", help="The retention path: delete events of old sealed batches.")
        prune.add_argument("--before-event", type=int, required=True)
        prune.add_argument("--reason", required=True, help="The retention rule applied.")

    def handle(self, *args: Any, **options: Any) -> None:
        with _key_errors_are_usage_errors():
            getattr(self, "_" + options["action"].replace("-", "_"))(options)

    def _verify(self, options: dict[str, Any]) -> None:
        if options["state"]:
            self._verify_state(max(options["workers"], 1))
            return
        files = [self._read_checkpoint(path) for path in options["checkpoint"]]
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1", returncode=2)
        stored = list(AuditCheckpoint.objects.order_by("seq"))
        trusted = trusted_keys() if stored or files else None
        if trusted is not None and not trusted:
            raise SigningKeyMissingError(f"The audit signing key {key_file()} is missing; restore it from the backup.")
        progress = None if options["quiet"] else self._progress
        report = verify(
            since=options["since"], checkpoints=[checkpoints.as_checkpoint(c, trusted) for c in stored] + files,
            deep=options["deep"], progress=progress, workers=options["workers"], trusted=trusted,
            data_keys=not options["trail_only"],
        )  # fmt: skip
        self._print_report(report)
        if not report.intact:
            sys.exit(1)

    def _verify_state(self, workers: int) -> None:
        from registru.audit.state import verify_state

        report = verify_state(workers=workers)
        self.stdout.write(
            f"{report.checked} records checked: {report.committed} bound to the trail, "
            f"{report.uncommitted} not yet committed."
        )
        if report.intact:
            self.stdout.write(self.style.SUCCESS("The live records are the state the trail committed to."))
            return
        self.stdout.write(
            self.style.ERROR(f"The live records differ from the trail: {len(report.findings)} finding(s).")
        )
        for finding in report.findings[:200]:
            self.stdout.write(f"  {finding}")
        sys.exit(1)

    def _commit_state(self, options: dict[str, Any]) -> None:
        from registru.audit.state import commit_state
        from registru.core.actors import SystemActor

        committed = commit_state(actor=SystemActor("command line"))
        self.stdout.write(f"{committed} records committed to the trail.")

    def _read_checkpoint(self, path: str) -> Checkpoint:
        try:
            return Checkpoint.from_file(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{path} is not a readable checkpoint file: {exc}", returncode=2) from exc

    def _progress(self, events: int, batches: int) -> None:
        # Called after each batch (or each run of batches, with several workers): a line at
        # most every 100 batches.
        if batches - self._shown >= 100:
            self._shown = batches
            self.stderr.write(f"\r{events} events in {batches} batches verified…", ending="")
            self.stderr.flush()

    _shown = 0

    def _print_report(self, report: Report) -> None:
        self.stderr.write("")
        self.stdout.write(
            f"{report.events} events, {report.batches} batches, {report.unsealed} not sealed yet; "
            f"head {report.head.hex()[:16]}… at batch {report.last_batch_seq}."
        )
        for label in report.checkpoints:
            self.stdout.write(f"checked against {label}")
        self._print_tail(report)
        if not report.keys_checked:
            self.stdout.write("The people's data keys were not checked (--trail-only, or no master key here).")
        if report.intact:
            self.stdout.write(self.style.SUCCESS("The audit trail is intact."))
            return
        self.stdout.write(self.style.ERROR(f"The audit trail is damaged: {len(report.findings)} finding(s)."))
        self.stdout.write(f"First: {report.first}")
        for finding in sorted(report.findings, key=lambda f: (f.position is None, f.position or 0))[:50]:
            self.stdout.write(f"  {finding}")

    def _print_tail(self, report: Report) -> None:
        if not report.tail_events:
            self.stdout.write("Every event is covered by a signed checkpoint.")
            return
        age = ""
        if report.tail_since is not None:
            age = f", the oldest {_minutes(timezone.now() - report.tail_since)} min old"
        covered = f"after the checkpoint signed {report.covered_at}" if report.covered_at else "with no checkpoint yet"
        self.stdout.write(
            f"Unsigned tail: {report.tail_events} event(s) {covered}{age}; a rewrite of these is "
            "found only once a checkpoint covers them."
        )

    def _seal(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"{seal()} events sealed.")

    def _checkpoint(self, options: dict[str, Any]) -> None:
        try:
            stored = checkpoints.create_checkpoint()
        except checkpoints.NothingToCheckpointError as exc:
            raise CommandError(str(exc)) from exc
        path = checkpoints.export(
            stored, Path(options["out"]) if options["out"] else checkpoints.default_export_path(stored)
        )
        self.stdout.write(
            f"Checkpoint {stored.seq} of batch {stored.batch_seq} ({stored.events} events) written to {path}."
        )
        if options["email"]:
            self.stdout.write(f"Mailed to {checkpoints.mail_to_dpo(stored)} DPO address(es).")

    def _export(self, options: dict[str, Any]) -> None:
        from registru.audit.services.exporting import export_trail
        from registru.core.actors import SystemActor

        out = Path(options["out"])
        try:
            proof = export_trail(
                person_id=options["person"], fmt=options["format"], path=out,
                actor=SystemActor("command line"), language=options["language"],
            )  # fmt: skip
        except LookupError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        state = "checked" if proof.ok else "DAMAGED: " + "; ".join(proof.failures)
        self.stdout.write(f"{proof.checked} events written to {out} ({state}).")
        if not proof.ok:
            sys.exit(1)

    def _prune(self, options: dict[str, Any]) -> None:
        from registru.audit.services.retention import LiveDataDiffersError, NothingToPruneError, prune
        from registru.core.actors import SystemActor

        try:
            pruned = prune(
                before_event=options["before_event"], actor=SystemActor("command line"), reason=options["reason"]
            )
        except (NothingToPruneError, LiveDataDiffersError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{pruned.events} events of batches up to {pruned.up_to_batch} deleted; the chain still verifies."
        )

    def _public_key(self, options: dict[str, Any]) -> None:
        for public in trusted_keys().values():
            self.stdout.write(f"{public.hex()}  (fingerprint {fingerprint(public)})")

    def _keygen(self, options: dict[str, Any]) -> None:
        if has_signing_key():
            raise CommandError(f"A signing key already exists ({key_file()}); it is never replaced.", returncode=2)
        from registru.audit.signing import public_bytes

        public = public_bytes(generate_key_file().public_key())
        self.stdout.write(f"Signing key written to {key_file()} (fingerprint {fingerprint(public)}). Back it up.")

    def _rotate_key(self, options: dict[str, Any]) -> None:
        old, new = rotate_signing_key()
        self.stdout.write(f"Signing key {old} → {new}; the old key stays trusted through the key history.")


def _minutes(delta: Any) -> int:
    return max(0, int(delta.total_seconds() // 60))


@contextmanager
def _key_errors_are_usage_errors() -> Iterator[None]:
    try:
        yield
    except (SigningKeyMissingError, KeyHistoryError) as exc:
        raise CommandError(str(exc), returncode=2) from exc
