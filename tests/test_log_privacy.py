"""Access-log lines lose every client address, as Werkzeug and gunicorn write them (coloured or not)."""

import logging

import pytest

from eventhub import log_privacy


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
