"""``registru vault init | fingerprint | rotate-master | check``: the master key's life, and the
data keys' state (``check`` exits 0 when intact, 1 when a key is damaged)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from registru.vault import integrity, keys, services

BACKUP_ADVICE = (
    "Back this key up now, in two places away from this machine and away from the database "
    "backups (a password manager and a sealed envelope will do). Without it, the values kept "
    "for proof in the audit trail cannot be read."
)


class Command(BaseCommand):
    help = "Manage the master key that wraps every person's data key."
    requires_system_checks: list[str] = []  # the checks would refuse to run without a key

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("init", help="Create the master key file (refuses to replace one).")
        sub.add_parser("fingerprint", help="Show the fingerprint of the key and of the database.")
        sub.add_parser("rotate-master", help="Re-wrap every data key under a new master key.")
        sub.add_parser("check", help="Find damaged data keys; exit 0 if intact, 1 if not.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["action"].replace("-", "_"))()

    def _init(self) -> None:
        path = keys.key_file()
        if path.exists() or os.environ.get("REGISTRU_MASTER_KEY"):
            raise CommandError(f"A master key already exists ({path}); it is never replaced.")
        key = keys.generate()
        keys.write(key, path)
        try:
            services.verify(key)  # records the fingerprint, if the database is migrated already
        except DatabaseError:
            self.stdout.write("(The database is not migrated yet: the fingerprint is recorded on first use.)")
        self.stdout.write(f"Master key written to {path} (fingerprint {key.fingerprint}).")
        self.stdout.write(BACKUP_ADVICE)

    def _fingerprint(self) -> None:
        from registru.vault.models import Keyring

        key = keys.load()
        recorded = Keyring.objects.filter(pk=1).values_list("fingerprint", flat=True).first()
        self.stdout.write(f"key file:  {key.fingerprint}")
        self.stdout.write(f"database:  {recorded or '(none yet)'}")
        if recorded and recorded != key.fingerprint:
            raise CommandError("they differ: restore the right key file")

    def _check(self) -> None:
        findings = integrity.find_key_damage()
        for finding in findings:
            self.stdout.write(str(finding))
        if findings:
            self.stdout.write(f"DAMAGED: {len(findings)} data keys (see docs/audit.md, 'Damaged data keys').")
            sys.exit(1)
        self.stdout.write("The data keys are intact.")

    def _rotate_master(self) -> None:
        if os.environ.get("REGISTRU_MASTER_KEY"):
            raise CommandError("The key comes from REGISTRU_MASTER_KEY: rotate with a key file instead.")
        current_path = keys.key_file()
        old = services.master_key()
        new = keys.generate()
        pending = current_path.with_name(current_path.name + ".new")
        keys.write(new, pending)  # on disk before the database changes: a crash loses nothing
        count = services.rotate_master(new)
        retired = current_path.with_name(f"{current_path.name}.{old.fingerprint}.retired")
        current_path.rename(retired)
        pending.rename(current_path)
        self._report_rotation(count, old, new, retired, current_path)

    def _report_rotation(self, count: int, old: keys.MasterKey, new: keys.MasterKey, retired: Path, path: Path) -> None:
        self.stdout.write(f"{count} data keys re-wrapped; master key {old.fingerprint} → {new.fingerprint}.")
        self.stdout.write(f"New key: {path}. The old one is kept as {retired} until you delete it.")
        self.stdout.write("Restart every Registru process. " + BACKUP_ADVICE)
