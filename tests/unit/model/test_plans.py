"""``promoter schema --write`` regenerates the fast validator's plans, in a source checkout only."""

from __future__ import annotations

from pathlib import Path

from promoter.model import plans


def test_a_source_checkout_is_recognised_by_its_pyproject(tmp_path: Path) -> None:
    package = tmp_path / "promoter"
    package.mkdir()
    assert plans.source_checkout(package) is None  # a wheel in site-packages
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert plans.source_checkout(package) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "promoter"\n')
    assert plans.source_checkout(package) == tmp_path


def test_this_checkout_is_one() -> None:
    assert plans.source_checkout() == Path(plans.__file__).resolve().parents[2]


def test_write_plans_writes_what_the_models_generate_once(tmp_path: Path) -> None:
    target = tmp_path / "_plans.py"
    assert plans.write_plans(target) is True
    assert target.read_text(encoding="utf-8") == plans.generate()
    assert plans.write_plans(target) is False  # unchanged: not rewritten
