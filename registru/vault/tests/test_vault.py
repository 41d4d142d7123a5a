"""Per-person keys: values encrypted under them, bound to person and field, shredded for good."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from registru.core import dbguard
from registru.vault import keys, services
from registru.vault.models import Keyring, PersonKey

pytestmark = pytest.mark.django_db


def test_it_round_trips_a_value_and_hides_it_in_the_ciphertext() -> None:
    sealed = services.encrypt(7, "phones", ["+40722123456"])
    assert "40722123456" not in str(sealed)
    assert services.decrypt(7, "phones", sealed, services.data_key(7)) == ["+40722123456"]


def test_a_ciphertext_does_not_open_as_another_persons_or_field(cast) -> None:
    sealed = services.encrypt(7, "phones", ["+40722123456"])
    services.data_key(8, create=True)
    with pytest.raises(services.VaultError):
        services.decrypt(7, "emails", sealed, services.data_key(7))
    with pytest.raises((services.VaultError, InvalidTag)):
        services.decrypt(8, "phones", sealed, services.data_key(8))


def test_shredding_makes_values_unreadable_and_refuses_new_ones() -> None:
    sealed = services.encrypt(7, "given_name", "Ioana")
    assert services.shred(7)
    assert services.data_key(7) is None
    assert services.decrypt(7, "given_name", sealed, services.data_key(7)) == services.ERASED
    assert PersonKey.objects.get(person_id=7).wrapped is None
    with pytest.raises(services.VaultError):
        services.encrypt(7, "given_name", "Ioana")


def test_it_refuses_a_master_key_that_is_not_the_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    services.encrypt(7, "given_name", "Ioana")  # records the fingerprint
    other = keys.generate()
    monkeypatch.setenv("REGISTRU_MASTER_KEY", keys.encode(other))
    services._verified.clear()
    with pytest.raises(keys.MasterKeyMismatchError):
        services.data_key(7)
    from registru.vault.checks import check_master_key

    assert [error.id for error in check_master_key()] == ["vault.E003"]


def test_rotating_the_master_key_keeps_every_value_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command

    key_file = tmp_path / "master.key"
    monkeypatch.delenv("REGISTRU_MASTER_KEY", raising=False)
    monkeypatch.setenv("REGISTRU_MASTER_KEY_FILE", str(key_file))
    Keyring.objects.all()._raw_delete(Keyring.objects.db)  # a database that belongs to this new key
    keys.write(keys.generate(), key_file)
    services._verified.clear()
    sealed = services.encrypt(7, "given_name", "Ioana")
    old_fingerprint = keys.load().fingerprint
    call_command("vault", "rotate-master")
    services._verified.clear()
    assert keys.load().fingerprint != old_fingerprint
    assert Keyring.objects.get().fingerprint == keys.load().fingerprint
    assert services.decrypt(7, "given_name", sealed, services.data_key(7)) == "Ioana"
    assert (tmp_path / f"master.key.{old_fingerprint}.retired").exists()


def test_key_files_are_readable_by_their_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    keys.write(keys.generate(), path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        keys.write(keys.generate(), path)


def test_a_key_file_put_in_place_of_another_is_read_and_a_missing_one_is_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file is read once per version of it: a restored or rotated file in its place is
    read at the next call, and a removed one is missed at once, as before the reads were kept."""
    key_file = tmp_path / "master.key"
    monkeypatch.delenv("REGISTRU_MASTER_KEY", raising=False)
    monkeypatch.setenv("REGISTRU_MASTER_KEY_FILE", str(key_file))
    first, second = keys.generate(), keys.generate()
    keys.write(first, key_file)
    assert keys.load() == first
    assert keys.load() == first
    keys.write(second, tmp_path / "restored.key")
    (tmp_path / "restored.key").replace(key_file)
    assert keys.load() == second
    key_file.unlink()
    with pytest.raises(keys.MasterKeyMissingError):
        keys.load()


def rewrite_key(person_id: int, wrapped: object) -> None:
    """Put another wrapped key on a person's row, on the rotation's path (as the tables' owner
    may: the guard's setting is one any session can set; see core/tests/test_key_guards.py)."""
    with dbguard.rotation_path():
        PersonKey.objects.filter(person_id=person_id).update(wrapped=wrapped)


def stored_wrapping(person_id: int) -> bytes:
    wrapped = PersonKey.objects.get(person_id=person_id).wrapped
    assert wrapped is not None
    return bytes(wrapped)


def test_a_data_key_is_wrapped_with_aes_gcm_and_bound_to_its_person() -> None:
    sealed = services.encrypt(7, "given_name", "Ioana")
    wrapped = stored_wrapping(7)
    assert wrapped.startswith(services.WRAP_FORMAT)
    assert len(wrapped) == 1 + services.NONCE_BYTES + 32 + 16
    assert services.decrypt(7, "given_name", sealed, services.data_key(7)) == "Ioana"


def test_a_wrapped_key_copied_onto_another_persons_row_does_not_unwrap() -> None:
    services.encrypt(7, "given_name", "Ioana")
    services.encrypt(8, "given_name", "Mihai")
    stolen = PersonKey.objects.get(person_id=7).wrapped
    # As a database administrator would: give person 8 the key of person 7.
    rewrite_key(8, stolen)
    with pytest.raises(services.VaultError, match="person 8"):
        services.data_key(8)


def test_a_key_wrapped_before_with_rfc_3394_still_unwraps_and_a_rotation_rewraps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap
    from django.core.management import call_command

    key_file = tmp_path / "master.key"
    monkeypatch.delenv("REGISTRU_MASTER_KEY", raising=False)
    monkeypatch.setenv("REGISTRU_MASTER_KEY_FILE", str(key_file))
    Keyring.objects.all()._raw_delete(Keyring.objects.db)
    keys.write(keys.generate(), key_file)
    services._verified.clear()
    sealed = services.encrypt(7, "given_name", "Ioana")
    key = services.data_key(7)
    assert key is not None
    legacy = aes_key_wrap(keys.load().material, key)  # as keys were stored before
    rewrite_key(7, legacy)
    assert services.data_key(7) == key
    call_command("vault", "rotate-master")
    services._verified.clear()
    rewrapped = stored_wrapping(7)
    assert rewrapped.startswith(services.WRAP_FORMAT)
    assert rewrapped != legacy
    assert services.decrypt(7, "given_name", sealed, services.data_key(7)) == "Ioana"


def test_a_wrapped_key_of_an_unknown_format_is_refused() -> None:
    services.encrypt(7, "given_name", "Ioana")
    wrapped = stored_wrapping(7)
    rewrite_key(7, b"\x02" + wrapped[1:])
    with pytest.raises(services.VaultError, match="person 7"):
        services.data_key(7)
