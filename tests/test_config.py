"""Settings from the environment and `.env`; a production secret that is missing fails fast."""

import stat

import pytest

from eventhub.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FLASK_DEBUG", "SMTP_HOST", "SMTP_PORT", "MAIL_FROM",
                 "EVENTHUB_BASE_URL", "SMTP_STARTTLS"):
        monkeypatch.delenv(name, raising=False)


def test_the_embedded_default_is_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings(str(tmp_path), env_file="")
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'eventhub.db'}"
    assert settings["REDIS_URL"] is None and settings["SMTP_HOST"] is None
    assert settings["MAIL_FROM"] == "eventhub@localhost"
    assert settings["EVENTHUB_BASE_URL"] == "http://127.0.0.1:5000"


def test_a_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = load_settings(str(tmp_path), env_file="")["SECRET_KEY"]
    second = load_settings(str(tmp_path), env_file="")["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_production_without_a_secret_key_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1/eventhub")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(str(tmp_path), env_file="")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    assert load_settings(str(tmp_path), env_file="")["SECRET_KEY"] == "s3cret"


def test_debug_mode_may_generate_a_key_for_any_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1/eventhub")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert load_settings(str(tmp_path), env_file="")["SECRET_KEY"]


def test_the_env_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MAIL_FROM=townhall@example.com\nSMTP_PORT=2525\nSMTP_STARTTLS=true\n"
                        "EVENTHUB_BASE_URL=https://hub.example.com/\n")
    monkeypatch.setenv("SMTP_PORT", "587")
    settings = load_settings(str(tmp_path), env_file=str(env_file))
    assert settings["MAIL_FROM"] == "townhall@example.com"
    assert settings["SMTP_PORT"] == 587 and settings["SMTP_STARTTLS"] is True
    assert settings["EVENTHUB_BASE_URL"] == "https://hub.example.com"


def test_a_port_that_is_not_a_number_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        load_settings(str(tmp_path), env_file="")


def test_the_mailbox_settings_default_to_tls_on_993_and_a_poll_a_minute(tmp_path, monkeypatch):
    for name in ("IMAP_HOST", "IMAP_PORT", "IMAP_TLS", "IMAP_FOLDER", "IMAP_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(str(tmp_path), env_file="")
    assert settings["IMAP_HOST"] is None
    assert (settings["IMAP_PORT"], settings["IMAP_TLS"], settings["IMAP_FOLDER"], settings["IMAP_POLL_SECONDS"]) == (
        993, "ssl", "INBOX", 60)
    monkeypatch.setenv("IMAP_TLS", "STARTTLS")
    monkeypatch.setenv("IMAP_PORT", "143")
    assert (load_settings(str(tmp_path), env_file="")["IMAP_TLS"],
            load_settings(str(tmp_path), env_file="")["IMAP_PORT"]) == ("starttls", 143)


@pytest.mark.parametrize(("name", "value"), [("IMAP_TLS", "tls1.3"), ("IMAP_POLL_SECONDS", "0"),
                                             ("IMAP_PORT", "imaps")])
def test_a_mailbox_setting_that_cannot_work_fails_fast(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings(str(tmp_path), env_file="")
