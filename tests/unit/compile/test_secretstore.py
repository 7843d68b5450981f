from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.compile.references import resolve
from promoter.compile.secretstore import SecretLookupError, SecretStore
from promoter.project.types import StoreSpec


def store(directory: Path, **kwargs: object) -> SecretStore:
    return SecretStore(StoreSpec(directory, "secrets/x", **kwargs))  # type: ignore[arg-type]


def test_plain_value_loses_one_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    assert store(tmp_path).lookup("pw", None)[0] == "s3cret"


@pytest.mark.parametrize("pointer", ["clientSecret", "/clientSecret"])
def test_json_pointer_with_or_without_leading_slash(tmp_path: Path, pointer: str) -> None:
    (tmp_path / "creds").write_text(json.dumps({"clientId": "id", "clientSecret": "cs"}))
    assert store(tmp_path).lookup("creds", pointer)[0] == "cs"


def test_nested_json_pointer(tmp_path: Path) -> None:
    (tmp_path / "creds").write_text(json.dumps({"graph": {"secret": "v"}}))
    assert store(tmp_path).lookup("creds", "graph/secret")[0] == "v"


def test_base64_store(tmp_path: Path) -> None:
    (tmp_path / "creds").write_bytes(base64.b64encode(b'{"clientSecret": "cs"}') + b"\n")
    assert store(tmp_path, format="base64").lookup("creds", "clientSecret")[0] == "cs"


def test_highest_version_is_active(tmp_path: Path) -> None:
    for version, value in ((1, "old"), (2, "new"), (10, "newest")):
        (tmp_path / f"pw.v{version}").write_text(value)
    (tmp_path / "pw.vbak").write_text("ignored")
    value, secret = store(tmp_path, version_suffix=".v").lookup("pw", None)
    assert (value, secret.version) == ("newest", 10)


def test_kubernetes_data_symlink_mount(tmp_path: Path) -> None:
    stamp = tmp_path / "..2026_11_23_10_00_00.000"
    stamp.mkdir()
    (stamp / "pw").write_text("from-k8s")
    (tmp_path / "..data").symlink_to(stamp.name)
    (tmp_path / "pw").symlink_to("..data/pw")
    assert store(tmp_path).lookup("pw", None)[0] == "from-k8s"


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "a/b", "..", ""])
def test_names_that_escape_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(SecretLookupError, match="not a plain file name"):
        store(tmp_path).lookup(name, None)


def test_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("x")
    inside = tmp_path / "store"
    inside.mkdir()
    (inside / "pw").symlink_to(outside)
    with pytest.raises(SecretLookupError, match="leaves the store"):
        store(inside).lookup("pw", None)


def test_large_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(SecretLookupError, match="64 KiB"):
        store(tmp_path).lookup("pw", None)


@pytest.mark.parametrize(
    ("content", "pointer", "message"),
    [
        ("not json", "x", "is not a JSON object"),
        ("[1]", "x", "is not a JSON object"),
        ('{"a": 1}', "b", "does not resolve"),
        ('{"a": 1}', "a", "is not a string"),
    ],
)
def test_json_problems(tmp_path: Path, content: str, pointer: str, message: str) -> None:
    (tmp_path / "c").write_text(content)
    with pytest.raises(SecretLookupError, match=message):
        store(tmp_path).lookup("c", pointer)


def test_missing_secret_and_missing_store(tmp_path: Path) -> None:
    with pytest.raises(SecretLookupError, match="not found"):
        store(tmp_path).lookup("pw", None)
    with pytest.raises(SecretLookupError, match="does not exist"):
        store(tmp_path / "nope").lookup("pw", None)


def test_errors_never_contain_the_value(tmp_path: Path) -> None:
    (tmp_path / "c").write_text('{"a": "TOPSECRET", "b": 5}')
    (tmp_path / "d").write_bytes(b"TOPSECRET\xff")
    for name, pointer in (("c", "b"), ("c", "zz"), ("d", None), ("d", "a")):
        with pytest.raises(SecretLookupError) as info:
            store(tmp_path).lookup(name, pointer)
        assert "TOPSECRET" not in str(info.value) + str(info.value.hint)


def test_resolution_replaces_references_and_reports_unresolved(tmp_path: Path) -> None:
    (tmp_path / "creds").write_text('{"clientId": "id-1"}')
    data = {
        "auth": {
            "clientId": {"$purpose": {"name": "creds", "jsonPointer": "clientId"}},
            "clientSecret": {"$purpose": {"name": "creds", "jsonPointer": "clientSecret"}},
        },
        "from": "&{esv.email.from}",
        "host": "&{esv.undeclared}",
    }
    result = resolve(data, store(tmp_path), declared_esvs=frozenset({"esv.email.from"}))
    assert result.data["auth"]["clientId"] == "id-1"
    assert result.data["auth"]["clientSecret"] == data["auth"]["clientSecret"]
    assert [r.pointer for r in result.resolved] == ["/auth/clientId"]
    assert [(u.pointer, u.store_missing) for u in result.unresolved] == [
        ("/auth/clientSecret", False),
        ("/host", False),
    ]


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz._-", min_size=1, max_size=12).filter(
    lambda n: n[0] not in ".-" and ".." not in n
)
values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=30
).filter(lambda v: v.strip() != "")  # an empty secret file is an error (EMAIL009)


@given(st.dictionaries(names, values, min_size=1, max_size=5), st.booleans())
def test_every_reference_resolves_to_the_stored_value(
    secrets: dict[str, str], leading_slash: bool
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "creds").write_text(json.dumps(secrets), encoding="utf-8")
        for name, value in secrets.items():
            (directory / name).write_text(value + "\n", encoding="utf-8")
        prefix = "/" if leading_slash else ""
        data = {
            "json": {
                k: {"$purpose": {"name": "creds", "jsonPointer": prefix + k}} for k in secrets
            },
            "whole": {k: {"$purpose": {"name": k}} for k in secrets},
        }
        result = resolve(data, store(directory), declared_esvs=frozenset())
        assert result.unresolved == []
        assert result.data == {"json": secrets, "whole": secrets}
        assert len(result.resolved) == 2 * len(secrets)


@pytest.mark.parametrize("odd", ["pw.v²", "pw.v" + "9" * 250, "pw.v١"])
def test_a_version_that_is_not_ascii_digits_is_not_a_version(tmp_path: Path, odd: str) -> None:
    (tmp_path / "pw.v1").write_text("one")
    (tmp_path / odd).write_text("odd")
    value, secret = store(tmp_path, version_suffix=".v").lookup("pw", None)
    assert (value, secret.version) == ("one", 1)
