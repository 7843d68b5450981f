"""AIC's ESV endpoints: variables, secrets and their versions (a value is never shown)."""

from __future__ import annotations

import base64
from typing import Any

from promoter.targets.aic_session import ESV_VERSION, PRUNE_VERSION, AicSession, EsvState, _decode


class EsvEndpoints(AicSession):
    def variable(self, esv: str) -> EsvState:
        step = f"read variable {esv}"
        body = self._json(
            self._call(
                "GET",
                f"/environment/variables/{esv}",
                step=step,
                missing=(404,),
                headers=ESV_VERSION,
            ),
            step,
        )
        if not isinstance(body, dict):
            return EsvState(esv, "variable", False, False)
        raw = body.get("valueBase64")
        value = _decode(raw) if isinstance(raw, str) else None
        return EsvState(esv, "variable", True, body.get("loaded") is True, value)

    def put_variable(self, esv: str, value: str, *, create: bool) -> None:
        body: dict[str, Any] = {"valueBase64": base64.b64encode(value.encode()).decode()}
        if create:
            body.update(expressionType="string", description="managed by promoter")
        self._call(
            "PUT",
            f"/environment/variables/{esv}",
            step=f"set variable {esv}",
            json=body,
            headers=ESV_VERSION,
        )

    def secret(self, esv: str) -> EsvState:
        step = f"read secret {esv}"
        body = self._json(
            self._call(
                "GET", f"/environment/secrets/{esv}", step=step, missing=(404,), headers=ESV_VERSION
            ),
            step,
        )
        if not isinstance(body, dict):
            return EsvState(esv, "secret", False, False)
        active = body.get("activeVersion")
        loaded = body.get("loaded") is True and body.get("loadedVersion") == active
        held = body.get("loadedVersion")
        return EsvState(
            esv,
            "secret",
            True,
            loaded,
            active_version=str(active or ""),
            loaded_version=str(held) if held else None,
            changed=changed if isinstance(changed := body.get("lastChangeDate"), str) else None,
        )

    def create_secret(self, esv: str, value: str) -> None:
        self.remember(value)
        self._call(
            "PUT",
            f"/environment/secrets/{esv}",
            step=f"create secret {esv}",
            json={
                "valueBase64": base64.b64encode(value.encode()).decode(),
                "description": "managed by promoter",
                "encoding": "generic",
                "useInPlaceholders": True,
            },
            headers=ESV_VERSION,
            idempotent=False,  # a second PUT is refused: "the secret already exists"
        )

    def new_secret_version(self, esv: str, value: str) -> str:
        """Add a version (the tenant keeps the latest if the value is unchanged); its number."""
        self.remember(value)
        step = f"add a version to secret {esv}"
        body = self._json(
            self._call(
                "POST",
                f"/environment/secrets/{esv}/versions",
                step=step,
                params={"_action": "create"},
                json={"valueBase64": base64.b64encode(value.encode()).decode()},
                headers=ESV_VERSION,
            ),
            step,
        )
        version = body.get("version") if isinstance(body, dict) else None
        return str(version or "")

    def set_version_status(self, esv: str, version: str, status: str) -> None:
        """ENABLED or DISABLED (the watcher disables the previous version once proven)."""
        self._call(
            "POST",
            f"/environment/secrets/{esv}/versions/{version}",
            step=f"set secret {esv} version {version} {status}",
            params={"_action": "changestatus"},
            json={"status": status},
            headers=ESV_VERSION,
            idempotent=True,
        )

    def versions(self, esv: str) -> list[tuple[str, str]]:
        """(version, status) of every version of a secret (never a value)."""
        step = f"list the versions of secret {esv}"
        body = self._json(
            self._call(
                "GET", f"/environment/secrets/{esv}/versions", step=step, headers=ESV_VERSION
            ),
            step,
        )
        found: list[tuple[str, str]] = []
        for item in body if isinstance(body, list) else []:
            version = item.get("version") if isinstance(item, dict) else None
            # a version goes into a DELETE path and the log: a number, or it is skipped
            if isinstance(version, int | str) and not isinstance(version, bool):
                if str(version).isascii() and str(version).isdigit():
                    found.append((str(version), str(item.get("status") or "")))
        return found

    def delete_version(self, esv: str, version: str) -> None:
        self._call(
            "DELETE",
            f"/environment/secrets/{esv}/versions/{version}",
            step=f"delete secret {esv} version {version}",
            headers=PRUNE_VERSION,
            idempotent=False,  # a second DELETE of a destroyed version is refused
        )
