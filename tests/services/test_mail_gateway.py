"""The mail gateway against a real SMTP server on loopback, and the outbox folder of the embedded default."""

import smtplib
from pathlib import Path

import pytest

from eventhub.gateways.mail import MailError, mail_gateway, new_message


def test_messages_reach_the_smtp_server_over_one_connection(mail):
    with mail_gateway().session() as sender:
        for number in range(3):
            sender.send(new_message(f"Hello {number}", f"p{number}@example.com", "text", "<p>html</p>"),
                        [f"p{number}@example.com"])
    received = mail.messages
    assert [item["to"] for item in received] == [["p0@example.com"], ["p1@example.com"], ["p2@example.com"]]
    message = received[0]["message"]
    assert message["From"] == "townhall@eventhub.test"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "text"


def test_a_permanent_refusal_is_reported_as_permanent(mail):
    mail.refuse["gone@example.com"] = "550 No such user"
    with mail_gateway().session() as sender, pytest.raises(MailError) as caught:
        sender.send(new_message("Hi", "gone@example.com", "text"), ["gone@example.com"])
    assert caught.value.permanent


def test_a_temporary_refusal_is_reported_as_temporary(mail):
    mail.refuse["busy@example.com"] = "451 Try again later"
    with mail_gateway().session() as sender, pytest.raises(MailError) as caught:
        sender.send(new_message("Hi", "busy@example.com", "text"), ["busy@example.com"])
    assert not caught.value.permanent


def test_a_server_that_is_down_is_a_temporary_failure(settings, app):
    from tests.conftest import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    with pytest.raises(MailError) as caught, mail_gateway().session():
        pass
    assert not caught.value.permanent


def test_without_smtp_mail_is_written_to_the_outbox(app):
    with mail_gateway().session() as sender:
        sender.send(new_message("Hello", "ana@example.com", "Hi Ana"), ["ana@example.com"])
    files = sorted(Path(app.instance_path, "outbox").glob("*.eml"))
    assert len(files) == 1
    content = files[0].read_text()
    assert "Subject: Hello" in content and "X-Envelope-To: ana@example.com" in content


def test_starttls_and_login_are_used_when_configured(monkeypatch, app):
    calls = []

    class RecordingSMTP(smtplib.SMTP):
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port))

        def starttls(self, context=None):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user, password))

        def quit(self):
            calls.append(("quit",))

    monkeypatch.setattr(smtplib, "SMTP", RecordingSMTP)
    app.config.update(SMTP_HOST="mail.example.com", SMTP_PORT=587, SMTP_STARTTLS=True,
                      SMTP_USER="u", SMTP_PASSWORD="p")
    with mail_gateway().session():
        pass
    assert calls == [("connect", "mail.example.com", 587), ("starttls",), ("login", "u", "p"), ("quit",)]
