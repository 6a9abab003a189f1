"""Client addresses never reach a log line that mentions a personal link or is an access-log line, IPv6 as
well as IPv4, coloured or not; clock times and other colon groups are kept."""

import logging
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from eventhub import log_privacy
from eventhub.log_privacy import redact
from tests.factories import create_town_hall, links

LINE = '{} - - [05/Mar/2030 14:00:00] "GET /ask/tok HTTP/1.1" 200 -'


@pytest.mark.parametrize("address", [
    "::1", "2001:db8::8a2e:370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1ff:fe23:4567:890a",
    "::ffff:192.0.2.10", "[2001:db8::1]:51234"])
def test_an_ipv6_client_address_is_blanked_from_an_access_line(address):
    logged = redact(LINE.format(address), access_log=True)
    assert logged.startswith("[") and "/ask/[link]" in logged
    assert "db8" not in logged and "::" not in logged and "ffff" not in logged and "192.0.2.10" not in logged


def test_clock_times_and_other_colon_groups_stay():
    assert redact("closed at 22:42:40 for ab:cd", access_log=True) == "closed at 22:42:40 for ab:cd"


def test_a_request_over_ipv6_is_logged_without_its_address(app, client, auth_headers, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    event = create_town_hall(client, auth_headers)
    [token] = links(event["id"]).values()
    server = make_server("::1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://[::1]:{server.server_port}/ask/{token}") as answer:
            assert answer.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=5)
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert [line for line in lines if "/ask/[link]" in line], lines  # the request was logged ...
    assert not [line for line in lines if "::1" in line or token in line], lines  # ... without address or link


@pytest.mark.parametrize("line", [
    '127.0.0.1 - - [01/Dec/2026 15:02:25] "GET /events/abc HTTP/1.1" 200 -',
    # Werkzeug colours the request line by its status: a 304 cyan, a 302 green, a 404 yellow.
    '127.0.0.1 - - [01/Dec/2026 15:02:25] "\x1b[36mGET /static/app.css HTTP/1.1\x1b[0m" 304 -',
    '127.0.0.1 - - [01/Dec/2026 15:02:25] "\x1b[32mPOST /events/abc/attendees HTTP/1.1\x1b[0m" 302 -',
    '127.0.0.1 - - [01/Dec/2026 15:02:25] "\x1b[33mGET /ask/abcdef HTTP/1.1\x1b[0m" 404 -',
])
def test_werkzeug_request_lines_keep_no_client_address(app, caplog, line):
    log_privacy.install()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info("%s", line)
    assert "127.0.0.1" not in caplog.text and "[ip]" in caplog.text
    assert "abcdef" not in caplog.text


def test_an_ipv6_client_is_redacted_and_a_clock_time_is_not(app, caplog):
    log_privacy.install()
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info('%s', '2001:db8::7 - - [01/Dec/2026:15:02:25 +0000] '
                                                 '"GET /events HTTP/1.1" 200 12')
    assert "2001:db8::7" not in caplog.text and "15:02:25" in caplog.text
