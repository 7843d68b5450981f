from __future__ import annotations

from promoter.compile.diff import diff, flatten, render
from promoter.compile.render import (
    canonical_json,
    literal_secrets,
    output_pointer,
    replace_at,
    to_idm,
)
from promoter.errors import Location


def test_idm_form_sorts_properties_and_maps_pointers() -> None:
    data = {"smtpProperties": {"b.x": "2", "a.y": "1"}, "host": "h"}
    assert to_idm(data)["smtpProperties"] == ["a.y=1", "b.x=2"]
    assert output_pointer("/smtpProperties/b.x", data) == "/smtpProperties/1"
    assert output_pointer("/host", data) == "/host"


def test_canonical_json_is_stable_utf8_with_newline() -> None:
    text = canonical_json({"b": 1, "a": "zoë"})
    assert text == '{\n  "a": "zoë",\n  "b": 1\n}\n'


def test_masking_replaces_only_the_named_pointers() -> None:
    data = {"auth": {"password": "pw", "username": "u"}}
    masked = replace_at(data, {"/auth/password": "<secret x>"})
    assert masked == {"auth": {"password": "<secret x>", "username": "u"}}
    assert data["auth"]["password"] == "pw"
    assert literal_secrets(data) == {"/auth/password": "pw"}
    assert literal_secrets({"auth": {"password": "&{esv.pw}"}}) == {}


def test_flatten_treats_crypto_as_one_encrypted_leaf() -> None:
    flat = flatten(
        {"auth": {"password": {"$crypto": {"value": {"data": "x"}}}}, "smtpProperties": ["a=1"]}
    )
    assert flat == {"/auth/password": "<encrypted by IDM>", "/smtpProperties/a": "1"}


def test_diff_hides_secret_values_and_locates_changes() -> None:
    old = {"host": "a", "auth": {"password": "old-pw"}, "debug": True}
    new = {"host": "b", "auth": {"password": "new-pw"}, "port": 587}
    changes = diff(
        old,
        new,
        labels={"/auth/password": "<secret pw>"},
        locate=lambda p: Location("f.yaml", 3, 1) if p == "/host" else None,
    )
    text = render(changes)
    assert text.splitlines() == [
        "  ~ /auth/password: <secret> → <secret pw> changed",
        "  - /debug: true",
        '  ~ /host: "a" → "b"   (f.yaml:3:1)',
        "  + /port: 587",
    ]
    assert "old-pw" not in text and "new-pw" not in text


def test_diff_can_skip_secrets_and_render_redacts_as_a_last_resort() -> None:
    changes = diff(
        {"auth": {"password": {"$crypto": {}}}}, {"auth": {"password": "x"}}, skip_secrets=True
    )
    assert changes == []
    assert render(diff({"a": "leaked-value"}, {"a": "b"}), redact=["leaked-value"]) == (
        '  ~ /a: <redacted> → "b"\n'
    )


def test_json_changes_redact_as_the_text_diff_does() -> None:
    """A secret is hidden where it is a whole value, however short; a word that happens to
    equal one (an env name) is not cut out of other values."""
    from promoter.check.report import change_dicts
    from promoter.compile.diff import Change

    changes = [
        Change("~", "/host", '"smtp.old.example"', '"smtp.prod.example"'),
        Change("+", "/auth/password", None, '"abc"'),
    ]
    redact = ["prod", "abc"]
    dicts = change_dicts(changes, redact=redact)
    assert [(d["old"], d["new"]) for d in dicts] == [
        ('"smtp.old.example"', '"smtp.prod.example"'),
        (None, "<redacted>"),
    ]
    text = render(changes, redact=redact)
    assert '"smtp.prod.example"' in text and "abc" not in text
