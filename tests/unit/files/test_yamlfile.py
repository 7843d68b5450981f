from __future__ import annotations

from pathlib import Path

import pytest

from promoter.errors import InputError, Location
from promoter.files.yamlfile import load_yaml, parse_yaml


def error_of(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_yaml(text, "env.yaml")
    return info.value


def test_every_value_knows_its_line_and_column() -> None:
    doc = parse_yaml("host: a\nauth:\n  enable: true\nlist:\n  - x\n  - y\n", "env.yaml")
    assert doc.data == {"host": "a", "auth": {"enable": True}, "list": ["x", "y"]}
    assert doc.locs["/host"] == Location("env.yaml", 1, 1)
    assert doc.locs["/auth/enable"] == Location("env.yaml", 3, 3)
    assert doc.locs["/list/1"] == Location("env.yaml", 6, 5)


def test_nearest_located_ancestor_is_used_for_unknown_pointers() -> None:
    doc = parse_yaml("auth:\n  enable: true\n", "env.yaml")
    assert doc.loc("/auth/password") == Location("env.yaml", 1, 1)
    assert doc.loc("/nothing") == Location("env.yaml", 1, 1)


def test_yaml_1_2_scalars() -> None:
    doc = parse_yaml("a: yes\nb: 0x1f\nc: 1_000\nd: 2027-03-31\ne: ~\nf: 1.5\n", "f.yaml")
    assert doc.data == {"a": "yes", "b": 31, "c": 1000, "d": "2027-03-31", "e": None, "f": 1.5}


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a'", 2, 1),
        ("a:\n\tb: 1\n", "tab character", 2, 1),
        ("a: 1\n---\nb: 2\n", "more than one YAML document", 2, 1),
        ("a: [1\n", "invalid YAML", 2, 1),
        ("a: !custom x\n", "unsupported YAML tag", 1, 4),
        ("a: !!binary aGk=\n", "unsupported YAML tag", 1, 4),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", "merge keys", 3, 3),
        ("? [1]\n: x\n", "mapping keys must be strings", 1, 3),
    ],
)
def test_input_errors_are_located(text: str, message: str, line: int, col: int) -> None:
    error = error_of(text)
    assert message in error.message
    assert error.location == Location("env.yaml", line, col)
    assert error.exit_code == 2


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)
    ]
    error = error_of("\n".join(lines) + "\n")
    assert "aliases expand beyond" in error.message
    assert error.location == Location("env.yaml", 6, 1)  # a5 is the first past the cap


def test_small_alias_use_is_fine() -> None:
    doc = parse_yaml("a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_bytes(b"host: a\nfrom: caf\xe9@example.com\n")
    with pytest.raises(InputError) as info:
        load_yaml(path, "env.yaml")
    assert info.value.message == "not valid UTF-8"
    assert info.value.location == Location("env.yaml", 2, 10)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "nope.yaml", "nope.yaml")


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_bytes("\ufeffhost: a\n".encode())
    assert load_yaml(path, "env.yaml").data == {"host": "a"}


def test_a_flow_mapping_holding_a_url_loads_with_its_locations() -> None:
    # libyaml refuses this valid YAML 1.2 ("found unexpected ':'"); the exact parser reads it.
    doc = parse_yaml(
        "auth:\n"
        "  scope: [https://graph.microsoft.com/.default]\n"
        "target: {idm: https://idm.example.com/openidm, bearerEnv: IDM_TOKEN}\n"
        "flag: yes\n",
        "f.yaml",
    )
    assert doc.data == {
        "auth": {"scope": ["https://graph.microsoft.com/.default"]},
        "target": {"idm": "https://idm.example.com/openidm", "bearerEnv": "IDM_TOKEN"},
        "flag": "yes",
    }
    assert str(doc.loc("/auth/scope/0")) == "f.yaml:2:11"
    assert str(doc.loc("/target/bearerEnv")) == "f.yaml:3:48"


def test_the_exact_parser_keeps_the_input_rules() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("target: {idm: https://a/b}\ntarget: 2\n", "f.yaml")
    assert str(caught.value) == "f.yaml:2:1: duplicate key 'target' (hint: first defined at line 1)"


def test_a_file_both_parsers_refuse_keeps_the_fast_parsers_message() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("target: {idm: a\nother: 1\n", "f.yaml")
    assert str(caught.value) == "f.yaml:2:6: invalid YAML: did not find expected ',' or '}'"


def test_promoter_yaml_with_an_idm_target_in_flow_style(tmp_path: Path) -> None:
    from promoter.project.load import load_project
    from promoter.project.types import IdmTarget

    (tmp_path / "promoter.yaml").write_text(
        "environments:\n  prod: {target: {idm: https://idm.example.com/openidm, bearerEnv: T}}\n"
    )
    target = load_project(tmp_path).env("prod").target
    assert isinstance(target, IdmTarget) and target.url == "https://idm.example.com/openidm"
