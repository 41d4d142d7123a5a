"""Settings come from the environment; production mode passes Django's deploy checks."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

REGISTRU = str(Path(sys.executable).with_name("registru"))


def registru(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value for key, value in os.environ.items() if not key.startswith(("REGISTRU_", "DATABASE_URL", "DJANGO_"))
    }
    return subprocess.run(
        [REGISTRU, *args], env=clean | env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "REGISTRU_ENV": "production",
        "REGISTRU_SECRET_KEY": secrets.token_urlsafe(60),
        "REGISTRU_ALLOWED_HOSTS": "crm.firma.ro",
        "REGISTRU_PUBLIC_URL": "https://crm.firma.ro",
        "REGISTRU_DATA_DIR": str(tmp_path),
        "REGISTRU_MASTER_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "REGISTRU_AUDIT_SIGNING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def test_it_refuses_to_run_in_production_without_a_master_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["REGISTRU_MASTER_KEY"]
    result = registru("check", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "vault.E001" in result.stderr


def test_it_passes_the_deploy_checks_in_production_mode_with_no_warning(tmp_path: Path) -> None:
    result = registru("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_the_deploy_checks_warn_of_links_sent_over_plain_http(tmp_path: Path) -> None:
    env = production_env(tmp_path) | {"REGISTRU_PUBLIC_URL": "http://crm.firma.ro"}
    result = registru("check", "--deploy", "--fail-level", "WARNING", env=env, cwd=tmp_path)
    assert (result.returncode, "portal.W001" in result.stderr + result.stdout) == (1, True)


def test_the_deploy_checks_warn_of_a_missing_audit_signing_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["REGISTRU_AUDIT_SIGNING_KEY"]
    result = registru("check", "--deploy", "--fail-level", "WARNING", env=env, cwd=tmp_path)
    assert (result.returncode, "audit.W001" in result.stderr + result.stdout) == (1, True)
    assert not (tmp_path / "keys" / "audit-signing.key").exists()


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["REGISTRU_SECRET_KEY"]
    result = registru("check", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "REGISTRU_SECRET_KEY" in result.stderr


def test_it_reads_secrets_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(60))
    env = production_env(tmp_path)
    del env["REGISTRU_SECRET_KEY"]
    env["REGISTRU_SECRET_KEY_FILE"] = str(key_file)
    assert registru("check", "--deploy", env=env, cwd=tmp_path).returncode == 0


def show(setting: str, env: dict[str, str], cwd: Path) -> str:
    code = f"from django.conf import settings; print(repr({setting}))"
    result = registru("shell", "--no-imports", "-c", code, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_keeps_data_in_the_data_directory_by_default(tmp_path: Path) -> None:
    env = {"REGISTRU_DATA_DIR": str(tmp_path)}
    assert show("settings.DATABASES['default']['NAME']", env, tmp_path) == repr(str(tmp_path / "registru.sqlite3"))
    assert "SqliteHuey" in show("settings.HUEY['huey_class']", env, tmp_path)
    assert "synchronous=FULL" in show("settings.DATABASES['default']['OPTIONS']['init_command']", env, tmp_path)


def test_it_switches_to_postgresql_and_redis_by_setting(tmp_path: Path) -> None:
    env = {
        "REGISTRU_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://registru@db.internal:5432/registru",
        "REGISTRU_QUEUE_URL": "redis://cache.internal:6379/2",
    }
    assert show("settings.DATABASES['default']['ENGINE']", env, tmp_path) == "'django.db.backends.postgresql'"
    assert "RedisHuey" in show("settings.HUEY['huey_class']", env, tmp_path)


def test_it_rejects_a_queue_url_it_does_not_understand(tmp_path: Path) -> None:
    result = registru("check", env={"REGISTRU_DATA_DIR": str(tmp_path), "REGISTRU_QUEUE_URL": "amqp://x"}, cwd=tmp_path)
    assert result.returncode != 0
    assert "REGISTRU_QUEUE_URL" in result.stderr


def test_serve_points_links_at_itself_unless_a_public_address_is_configured() -> None:
    from registru.core.management.commands.serve import local_public_url

    assert local_public_url("127.0.0.1", 8765, {}) == "http://127.0.0.1:8765"
    assert local_public_url("0.0.0.0", 8000, {}) == "http://127.0.0.1:8000"  # noqa: S104
    assert local_public_url("127.0.0.1", 8765, {"REGISTRU_PUBLIC_URL": "https://crm.firma.ro"}) is None
