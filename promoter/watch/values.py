"""The ESV values one AIC re-check reads: kept in memory only, compared by a keyed digest."""

from __future__ import annotations

from dataclasses import dataclass, field

from promoter.project.types import Environment, esv_id
from promoter.targets.esv import secret_values
from promoter.watch.digest import process_hmac


@dataclass(frozen=True, slots=True)
class Values:
    """The ESV values of one re-check: id -> value, by kind (memory only, never shown)."""

    secrets: dict[str, str] = field(repr=False)
    variables: dict[str, str] = field(repr=False)

    def digest(self) -> str:
        h = process_hmac()
        for kind, values in (("s", self.secrets), ("v", self.variables)):
            for key in sorted(values):
                h.update(f"\0{kind}\0{key}\0".encode() + values[key].encode())
        return h.hexdigest()

    def all(self) -> list[str]:
        return [*self.secrets.values(), *self.variables.values()]


def read_values(env: Environment) -> Values:

    variables = {esv_id(n): v for n, v in env.esvs.items() if isinstance(v, str)}
    return Values(secret_values(env), variables)
