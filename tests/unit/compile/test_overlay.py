from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.compile.overlay import compose
from promoter.errors import Location, RefusedError
from promoter.files.yamlfile import Doc, parse_yaml


def merged(*texts: str) -> Doc:
    return compose([parse_yaml(text, f"f{i}.yaml") for i, text in enumerate(texts)])


def test_mappings_merge_recursively_and_later_wins() -> None:
    doc = merged("a: 1\nauth: {enable: true, username: u}\n", "auth: {username: v}\nb: 2\n")
    assert doc.data == {"a": 1, "auth": {"enable": True, "username": "v"}, "b": 2}
    assert doc.loc("/auth/username") == Location("f1.yaml", 1, 8)
    assert doc.loc("/auth/enable") == Location("f0.yaml", 2, 8)


def test_null_deletes_and_lists_replace() -> None:
    doc = merged(
        "a: 1\nscope: [x, y]\nauth: {password: p}\n", "a: null\nscope: [z]\nauth: {password: ~}\n"
    )
    assert doc.data == {"scope": ["z"], "auth": {}}
    assert "/a" not in doc.locs and "/auth/password" not in doc.locs


def test_purpose_reference_replaces_rather_than_merges() -> None:
    doc = merged("p: {$purpose: {name: a, jsonPointer: x}}\n", "p: {$purpose: {name: b}}\n")
    assert doc.data == {"p": {"$purpose": {"name": "b"}}}


def test_smtp_properties_mapping_merges_by_key_and_renders_sorted() -> None:
    doc = merged(
        "smtpProperties: ['mail.smtps.ssl.protocols=TLSv1.2', 'mail.mime.allowutf8=true']\n",
        "smtpProperties:\n  mail.smtp.ssl.protocols: TLSv1.3\n  mail.mime.allowutf8: null\n",
    )
    assert doc.data["smtpProperties"] == {
        "mail.smtps.ssl.protocols": "TLSv1.2",
        "mail.smtp.ssl.protocols": "TLSv1.3",
    }
    assert doc.loc("/smtpProperties/mail.smtps.ssl.protocols") == Location("f0.yaml", 1, 18)
    assert doc.loc("/smtpProperties/mail.smtp.ssl.protocols") == Location("f1.yaml", 2, 3)


def test_smtp_properties_list_replaces_and_booleans_render_lowercase() -> None:
    doc = merged(
        "smtpProperties: {mail.smtp.starttls.required: true, a.b: 1}\n",
        "smtpProperties: ['mail.mime.allowutf8 = true']\n",
    )
    assert doc.data["smtpProperties"] == {"mail.mime.allowutf8": "true"}
    assert merged("smtpProperties: {x: false, y: 2}\n").data["smtpProperties"] == {
        "x": "false",
        "y": "2",
    }


def test_bad_smtp_property_item_is_located() -> None:
    with pytest.raises(RefusedError) as info:
        merged("smtpProperties:\n  - mail.debug\n")
    assert info.value.location == Location("f0.yaml", 2, 5)


# Property tests: documents are nested mappings of short keys to ints, lists or nulls.
keys = st.sampled_from(["a", "b", "c", "auth", "host"])
leaf = st.one_of(st.integers(-5, 5), st.lists(st.integers(0, 3), max_size=2))
tree = st.recursive(
    st.dictionaries(keys, leaf, max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(leaf, inner), max_size=4),
    max_leaves=10,
)
overlay_tree = st.recursive(
    st.dictionaries(keys, st.one_of(leaf, st.none()), max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(leaf, st.none(), inner), max_size=4),
    max_leaves=10,
)


def doc_of(data: dict[str, Any]) -> Doc:
    return Doc(data=data, file="x.yaml")


@given(tree)
def test_merging_an_empty_overlay_is_identity(data: dict[str, Any]) -> None:
    assert compose([doc_of(data), doc_of({})]).data == data
    assert compose([doc_of({}), doc_of(data)]).data == data


@given(tree, overlay_tree)
def test_null_removes_and_other_values_win(base: dict[str, Any], over: dict[str, Any]) -> None:
    result = compose([doc_of(base), doc_of(over)]).data
    for key, value in over.items():
        if value is None:
            assert key not in result
        elif not isinstance(value, dict):
            assert result[key] == value
    for key in base.keys() - over.keys():
        assert result[key] == base[key]


@given(tree, overlay_tree)
def test_result_does_not_depend_on_key_order(base: dict[str, Any], over: dict[str, Any]) -> None:
    def reversed_order(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reversed_order(value[k]) for k in reversed(list(value))}
        return value

    forward = compose([doc_of(base), doc_of(over)]).data
    backward = compose([doc_of(reversed_order(base)), doc_of(reversed_order(over))]).data
    assert forward == backward


@given(tree, overlay_tree)
def test_merge_never_mutates_its_inputs(base: dict[str, Any], over: dict[str, Any]) -> None:
    import copy

    before = copy.deepcopy((base, over))
    compose([doc_of(base), doc_of(over)])
    assert (base, over) == before


@given(overlay_tree)
def test_no_null_survives_a_merge(over: dict[str, Any]) -> None:
    def has_null(value: Any) -> bool:
        if isinstance(value, dict):
            return any(v is None or has_null(v) for v in value.values())
        return False

    assert not has_null(compose([doc_of({}), doc_of(over)]).data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'smtpProperties:\n  "mail.smtp.ssl.protocols=SSLv3 TLSv1": true\n',
            "an smtpProperties key may not contain '=': IDM splits 'key=value' at the first '='",
        ),
        (
            "smtpProperties:\n  - =SSLv3\n",
            "smtpProperties keys must be non-empty strings",
        ),
        (
            'smtpProperties:\n  " mail.smtp.ssl.protocols": SSLv3\n',
            "an smtpProperties key may not hold spaces at its ends or control characters",
        ),
        (
            "smtpProperties:\n"
            '  mail.smtp.ssl.protocols: "TLSv1.2\\nmail.smtp.ssl.protocols=SSLv3"\n',
            "an smtpProperties value may not hold a line break or NUL",
        ),
    ],
)
def test_a_property_that_would_read_back_differently_is_refused(text: str, message: str) -> None:
    with pytest.raises(RefusedError) as info:
        merged(text)
    assert info.value.message == message
    assert info.value.location == Location("f0.yaml", 2, 3 if "- " not in text else 5)


def test_gates_judge_the_properties_as_idm_reads_them() -> None:
    from promoter.check.compiler import _as_idm_reads
    from promoter.gates.base import GateInput
    from promoter.gates.run import run_gates
    from promoter.model.validate import email_adapter

    config = email_adapter().validate_python(
        {
            "host": "smtp.example.com",
            "auth": {"enable": False},
            "starttls": {"enable": True},
            "smtpProperties": {"mail.smtp.ssl.protocols=SSLv3 TLSv1": "x"},
        }
    )
    seen = _as_idm_reads(config)
    assert seen.smtpProperties == {"mail.smtp.ssl.protocols": "SSLv3 TLSv1=x"}
    gate = GateInput(env="e", tier="development", config=seen, data={})
    findings = run_gates(gate, lambda p: (p, None))
    assert [f.rule for f in findings if f.rule == "EMAIL004"] == ["EMAIL004"]
