"""promoter.yaml ``esvs:`` and ``properties:`` per environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.project.load import load_project
from promoter.project.types import esv_id
from tests.conftest import cli, write


def test_esvs_as_a_mapping_of_literals_and_secret_references(tmp_path: Path) -> None:
    write(
        tmp_path / "promoter.yaml",
        "environments:\n"
        "  staging:\n"
        "    esvs:\n"
        "      esv.email.password: {$purpose: {name: idm.email.password, jsonPointer: pw}}\n"
        "      esv.email.port: 587\n"
        "      esv-email-host: smtp.example.com\n"
        "      esv.email.debug: false\n"
        "    properties: {email.sender.address: noreply@example.com, email.other: }\n"
        "  prod:\n"
        "    esvs: [esv.email.password]\n"
        "    properties: [email.sender.address]\n",
    )
    project = load_project(tmp_path)
    staging, prod = project.env("staging"), project.env("prod")
    assert dict(staging.esvs) == {
        "esv.email.password": {"$purpose": {"name": "idm.email.password", "jsonPointer": "pw"}},
        "esv.email.port": "587",
        "esv.email.host": "smtp.example.com",
        "esv.email.debug": "false",
    }
    assert dict(staging.properties) == {
        "email.sender.address": "noreply@example.com",
        "email.other": None,
    }
    assert dict(prod.esvs) == {"esv.email.password": None}
    assert dict(prod.properties) == {"email.sender.address": None}
    with pytest.raises(TypeError):
        staging.esvs["esv.x"] = "y"  # type: ignore[index]


def test_esv_id_is_derived_from_the_placeholder_name() -> None:
    assert esv_id("esv.email.password") == "esv-email-password"
    assert esv_id("esv-email-password") == "esv-email-password"
    assert esv_id("esv.smtp_host") == "esv-smtp_host"


@pytest.mark.parametrize(
    ("esvs", "line", "col", "name"),
    [
        ("[esv.ok, 'esv.bad name']", 3, 20, "esv.bad name"),
        ("{email.password: x}", 3, 12, "email.password"),
        ("['esv." + "x" * 130 + "']", 3, 12, "esv." + "x" * 130),
    ],
)
def test_a_bad_esv_name_is_an_input_error_at_its_line(
    tmp_path: Path, esvs: str, line: int, col: int, name: str
) -> None:
    write(tmp_path / "promoter.yaml", f"environments:\n  dev:\n    esvs: {esvs}\n")
    with pytest.raises(InputError) as caught:
        load_project(tmp_path)
    assert str(caught.value.location) == f"promoter.yaml:{line}:{col}"
    assert caught.value.message == f"'{name}' is not an ESV name"


def test_a_bad_esv_name_exits_2_with_the_line(example: Path) -> None:
    text = (example / "promoter.yaml").read_text()
    write(
        example / "promoter.yaml",
        text.replace(
            "    tier: staging\n", "    tier: staging\n    esvs: [esv.Email Password]\n", 1
        ),
    )
    run = cli("check", cwd=example)
    assert run.code == 2
    assert run.err.startswith("error: promoter.yaml:11:12: 'esv.Email Password' is not an ESV name")


def test_an_esv_declared_with_a_value_counts_as_declared(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "password: {$purpose: {name: idm.email.smtp.password}}",
            "password: '&{esv.email.password}'",
        )
    )
    text = (example / "promoter.yaml").read_text()
    declared = (
        "    tier: staging\n"
        "    esvs:\n"
        "      esv.email.password: {$purpose: {name: idm.email.smtp.password}}\n"
    )
    write(example / "promoter.yaml", text.replace("    tier: staging\n", declared, 1))
    run = cli("check", "staging", cwd=example)
    assert run.code == 0, run.out + run.err
    assert "EXAMPLE-not-a-real" not in run.out + run.err
