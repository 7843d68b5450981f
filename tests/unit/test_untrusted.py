"""promoter.untrusted: what we sent never comes back out, whatever encoding the echo uses."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from promoter.errors import InputError
from promoter.untrusted import (
    aadsts_codes,
    escape_control,
    exception_text,
    http_status,
    oauth_error,
    scrub,
    sent_strings,
    smtp_auth_plain,
    smtp_status,
)

SECRET = "Canary-untrusted-9c1e!é/+ &x"
USER = "mailer@example.com"


def echoes(value: str) -> list[str]:
    data = value.encode()
    return [
        value,
        json.dumps({"v": value}),
        json.dumps({"v": value}, ensure_ascii=False),
        urlencode({"client_secret": value}),
        quote(value, safe=""),
        quote(value, safe="").lower(),
        repr(data),
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode(),
    ]


@pytest.mark.parametrize("echo", echoes(SECRET))
def test_scrub_removes_each_encoding_of_a_sent_value(echo: str) -> None:
    shown = scrub(f"server says: {echo} (end)", [SECRET], limit=10_000)
    assert "<redacted>" in shown
    for form in echoes(SECRET):
        assert form not in shown
    assert shown.startswith("server says: ")


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "abcd"])
def test_scrub_removes_a_password_inside_a_base64_auth_plain_line(prefix: str) -> None:
    plain = (prefix + smtp_auth_plain(USER, SECRET)).encode()
    line = "535 5.7.8 you sent AUTH PLAIN " + base64.b64encode(plain).decode()
    shown = scrub(line, [SECRET], limit=10_000)
    # no base64 run of the password's bytes survives, at any alignment
    for cut in range(3):
        core = base64.b64encode(plain[len(prefix) + len(USER) + 2 + cut :]).decode()[:8]
        assert core not in shown
    assert shown.startswith("535 5.7.8 you sent AUTH PLAIN ")


def test_scrub_escapes_control_characters_and_caps_length() -> None:
    shown = scrub("ok\nerror: fake.yaml:1:1: injected\x1b[31m" + "x" * 500, [], limit=60)
    assert "\n" not in shown and "\x1b" not in shown
    assert shown.startswith("ok\\nerror: fake.yaml:1:1: injected\\x1b[31m")
    assert len(shown) == 60 and shown.endswith("…")


def test_scrub_survives_values_that_look_like_the_marker() -> None:
    assert scrub("<a>", ["<", "a", ""]) == "<redacted><redacted>>"


def test_escape_control_leaves_printable_text_alone() -> None:
    assert escape_control("environments/staging.yaml: ünïcode ok") == (
        "environments/staging.yaml: ünïcode ok"
    )
    assert escape_control("a\u2028b\u202ec\x85d\te") == "a\\u2028b\\u202ec\\x85d\\te"


def test_a_promoter_error_never_prints_a_raw_control_character() -> None:
    error = InputError("unknown key '\nerror: fake.yaml:1:1: injected'", hint="\x1b[2J")
    assert str(error) == "unknown key '\\nerror: fake.yaml:1:1: injected' (hint: \\x1b[2J)"


def test_known_fields_only() -> None:
    echoed = {"error": f"client_secret={SECRET}", "error_description": SECRET}
    assert oauth_error(echoed) is None
    assert oauth_error({"error": "invalid_client", "error_description": SECRET}) == (
        "invalid_client"
    )
    assert oauth_error(["invalid_client"]) is None
    body = {"error_codes": [7000215, "x1", True], "error_description": "AADSTS700016: no app"}
    assert aadsts_codes(body) == ["7000215", "700016"]
    assert aadsts_codes("AADSTS1") == []
    assert smtp_status(550, b"5.7.1 " + SECRET.encode()) == "550 5.7.1"
    assert smtp_status(550, SECRET) == "550"
    assert smtp_status(550, "4.7.1 mismatched class") == "550"
    assert smtp_status(99999, "") == "an invalid reply code"
    assert http_status(401) == "401"
    assert http_status(1000) == "an invalid status"


def test_sent_strings_and_exception_text() -> None:
    body = {"auth": {"password": SECRET, "port": 25}, "list": [USER]}
    assert sorted(sent_strings(body, {"Authorization": "Bearer t0k"})) == sorted(
        [SECRET, USER, "Bearer t0k"]
    )
    exc = ValueError(f"peer sent back {json.dumps({'password': SECRET})}\nsecond line")
    assert exception_text(exc, [SECRET]) == 'ValueError: peer sent back {"password": "<redacted>"}'
    assert exception_text(ValueError(), [SECRET]) == "ValueError"
