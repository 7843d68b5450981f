"""The ESV (environment secrets and variables) store of one AIC tenant stand-in.

Pure state and rules, no HTTP: every operation returns ``(status, body)`` as the
tenant answers it (aic-api.md "ESV variables" / "ESV secrets" / "Loaded vs active").
The caller holds the stand-in's lock around every call.

Loaded state is derived, never stored as a flag: a variable is ``loaded`` when no
PUT came after the last restart began (every PUT answers ``loaded:false``, even one
that repeats the value); a secret is ``loaded`` when the version the last restart
loaded is its active (newest) version. Placeholders see
``runtime``: the values the last restart loaded (a deleted ESV stays there until
the next restart, as in a running tenant).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

ID_PATTERN = re.compile(r"^esv-[a-z0-9_-]{1,124}$")
EXPRESSION_TYPES = (
    "string",
    "list",
    "array",
    "object",
    "bool",
    "int",
    "number",
    "base64encodedinlined",
    "keyvaluelist",
)
ENCODINGS = ("generic", "pem", "base64hmac", "base64aes")
MAX_VALUE_BYTES = 65535
NO_VARIABLE = "The variable does not exist"
NO_SECRET = "The secret does not exist or does not have a version"
NO_VERSION = "Failed to get secret version"

Answer = tuple[int, Any]


def now_stamp() -> str:
    """ESV timestamps as AIC writes them: ``2024-01-20T04:38:14.13632315Z``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(code: int, message: str) -> Answer:
    return code, {"code": code, "message": message}


@dataclass
class Variable:
    id: str
    value_base64: str
    expression_type: str
    description: str = ""
    last_change: str = field(default_factory=now_stamp)
    changed_by: str = ""
    changes: int = 1  # PUTs so far
    loaded_changes: int = 0  # ``changes`` when the last restart began

    @property
    def loaded(self) -> bool:
        return self.loaded_changes == self.changes

    def body(self, *, with_value: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "_id": self.id,
            "description": self.description,
            "expressionType": self.expression_type,
            "lastChangeDate": self.last_change,
            "lastChangedBy": self.changed_by,
            "loaded": self.loaded,
        }
        if with_value:
            body["valueBase64"] = self.value_base64
        return body


@dataclass
class Version:
    version: str
    value_base64: str | None  # None once destroyed
    create_date: str = field(default_factory=now_stamp)
    status: str = "ENABLED"

    def body(self) -> dict[str, Any]:
        # The recordings show loaded:false on every version, even a loaded one (HAR secret-13).
        return {
            "createDate": self.create_date,
            "loaded": False,
            "status": self.status,
            "version": self.version,
        }


@dataclass
class Secret:
    id: str
    encoding: str
    use_in_placeholders: bool
    versions: list[Version]  # oldest first
    description: str = ""
    last_change: str = field(default_factory=now_stamp)
    changed_by: str = ""
    loaded_version: str = ""

    @property
    def active(self) -> Version:
        return self.versions[-1]

    @property
    def loaded(self) -> bool:
        return self.loaded_version == self.active.version

    def version(self, number: str) -> Version | None:
        return next((v for v in self.versions if v.version == number), None)

    def body(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "activeVersion": self.active.version,
            "description": self.description,
            "encoding": self.encoding,
            "lastChangeDate": self.last_change,
            "lastChangedBy": self.changed_by,
            "loaded": self.loaded,
            "loadedVersion": self.loaded_version,
            "useInPlaceholders": self.use_in_placeholders,
        }


def _decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _typed_ok(expression_type: str, text: str) -> bool:
    """Whether a variable's decoded value parses as its expressionType [inferred]."""
    try:
        if expression_type == "int":
            int(text)
        elif expression_type == "number":
            float(text)
        elif expression_type == "bool":
            return text in ("true", "false")
        elif expression_type in ("array", "object", "keyvaluelist"):
            parsed = json.loads(text)
            wanted = list if expression_type == "array" else dict
            return isinstance(parsed, wanted)
    except ValueError:
        return False
    return True


class EsvStore:
    def __init__(self) -> None:
        self.variables: dict[str, Variable] = {}
        self.secrets: dict[str, Secret] = {}
        # esv id -> (decoded value, expressionType or "secret"): what placeholders see
        self.runtime: dict[str, tuple[str, str]] = {}

    # -- variables -------------------------------------------------------------------------

    def list_variables(self, *, with_values: bool, pending_only: bool) -> list[dict[str, Any]]:
        return [
            v.body(with_value=with_values)
            for _, v in sorted(self.variables.items())
            if not (pending_only and v.loaded)
        ]

    def get_variable(self, esv_id: str) -> Answer:
        variable = self.variables.get(esv_id)
        return (200, variable.body()) if variable else error(404, NO_VARIABLE)

    def put_variable(self, esv_id: str, body: Any, *, by: str) -> Answer:
        if not ID_PATTERN.match(esv_id):
            return error(400, f"Invalid variable id: must match {ID_PATTERN.pattern}")
        if esv_id in self.secrets:
            return error(400, f"The id {esv_id} is already used by a secret")
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object")
        existing = self.variables.get(esv_id)
        kind = body.get("expressionType")
        if existing is None and not kind:
            return error(
                400,
                "Variable type required; expressionType cannot be empty when creating new "
                "variables",
            )
        if kind and kind not in EXPRESSION_TYPES:
            return error(400, f"Invalid expressionType: {kind}")
        if existing is not None and kind and kind != existing.expression_type:
            return error(400, "expressionType cannot be modified after creation")
        raw = _decode(body.get("valueBase64"))
        if raw is None:
            return error(400, "valueBase64 must be a standard base64 string")
        if len(raw) > MAX_VALUE_BYTES:
            return error(400, f"Variable value exceeds {MAX_VALUE_BYTES} bytes")
        kind = kind or (existing.expression_type if existing else "string")
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return error(400, "Variable value must be UTF-8 text")
        if not _typed_ok(kind, text):
            return error(400, f"Variable value is not a valid {kind}")
        description = body.get("description")
        if existing is None:
            existing = Variable(esv_id, body["valueBase64"], kind, changed_by=by)
            self.variables[esv_id] = existing
        else:
            existing.changes += 1
        existing.value_base64 = body["valueBase64"]
        if isinstance(description, str):
            existing.description = description
        existing.last_change, existing.changed_by = now_stamp(), by
        return 200, existing.body()

    def describe_variable(self, esv_id: str, body: Any) -> Answer:
        variable = self.variables.get(esv_id)
        if variable is None:
            return error(404, NO_VARIABLE)
        if not isinstance(body, dict) or not isinstance(body.get("description"), str):
            return error(400, "description must be a string")
        variable.description = body["description"]
        return 200, None

    def delete_variable(self, esv_id: str) -> Answer:
        variable = self.variables.pop(esv_id, None)
        return (200, variable.body()) if variable else error(404, NO_VARIABLE)

    # -- secrets ---------------------------------------------------------------------------

    def list_secrets(self, *, pending_only: bool) -> list[dict[str, Any]]:
        return [
            s.body() for _, s in sorted(self.secrets.items()) if not (pending_only and s.loaded)
        ]

    def get_secret(self, esv_id: str) -> Answer:
        secret = self.secrets.get(esv_id)
        return (200, secret.body()) if secret else error(404, NO_SECRET)

    def put_secret(self, esv_id: str, body: Any, *, by: str) -> Answer:
        if not ID_PATTERN.match(esv_id):
            return error(400, f"Invalid secret id: must match {ID_PATTERN.pattern}")
        if esv_id in self.secrets:
            return error(400, "Failed to create secret, the secret already exists")
        if esv_id in self.variables:
            return error(400, f"The id {esv_id} is already used by a variable")
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object")
        raw = _decode(body.get("valueBase64"))
        if raw is None:
            return error(400, "valueBase64 must be a standard base64 string")
        if len(raw) > MAX_VALUE_BYTES:
            return error(400, f"Secret value exceeds {MAX_VALUE_BYTES} bytes")
        encoding = body.get("encoding", "generic")
        if encoding not in ENCODINGS:
            return error(400, f"Invalid encoding: {encoding}")
        placeholders = body.get("useInPlaceholders", True)
        if not isinstance(placeholders, bool):
            return error(400, "useInPlaceholders must be a boolean")
        description = body.get("description", "")
        secret = Secret(
            esv_id,
            encoding,
            placeholders,
            [Version("1", body["valueBase64"])],
            description=description if isinstance(description, str) else "",
            changed_by=by,
        )
        self._load_at_once(secret)
        self.secrets[esv_id] = secret
        return 200, secret.body()

    def _load_at_once(self, secret: Secret) -> None:
        """A secret not used in placeholders is loaded at once (HAR: base64hmac secret)."""
        if not secret.use_in_placeholders:
            secret.loaded_version = secret.active.version

    def describe_secret(self, esv_id: str, body: Any) -> Answer:
        secret = self.secrets.get(esv_id)
        if secret is None:
            return error(404, NO_SECRET)
        if not isinstance(body, dict) or not isinstance(body.get("description"), str):
            return error(400, "description must be a string")
        secret.description = body["description"]
        return 200, None

    def delete_secret(self, esv_id: str) -> Answer:
        secret = self.secrets.pop(esv_id, None)
        return (200, secret.body()) if secret else error(404, NO_SECRET)

    def list_versions(self, esv_id: str) -> Answer:
        secret = self.secrets.get(esv_id)
        if secret is None:
            return error(404, NO_SECRET)
        return 200, [v.body() for v in reversed(secret.versions)]

    def create_version(self, esv_id: str, body: Any, *, by: str) -> Answer:
        secret = self.secrets.get(esv_id)
        if secret is None:
            return error(404, "Failed to create secret version")
        raw = _decode(body.get("valueBase64") if isinstance(body, dict) else None)
        if raw is None:
            return error(400, "valueBase64 must be a standard base64 string")
        if len(raw) > MAX_VALUE_BYTES:
            return error(400, f"Secret value exceeds {MAX_VALUE_BYTES} bytes")
        if _decode(secret.active.value_base64) == raw:
            return 200, secret.active.body()  # deduplicated: nothing is added
        version = Version(str(int(secret.active.version) + 1), body["valueBase64"])
        secret.versions.append(version)
        secret.last_change, secret.changed_by = now_stamp(), by
        self._load_at_once(secret)
        return 200, version.body()

    def get_version(self, esv_id: str, number: str) -> Answer:
        secret = self.secrets.get(esv_id)
        version = secret.version(number) if secret else None
        return (200, version.body()) if version else error(404, NO_VERSION)

    def change_status(self, esv_id: str, number: str, body: Any) -> Answer:
        secret = self.secrets.get(esv_id)
        version = secret.version(number) if secret else None
        if secret is None or version is None:
            return error(404, NO_VERSION)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("ENABLED", "DISABLED"):
            return error(400, "status must be ENABLED or DISABLED")
        if version.status == "DESTROYED":
            return error(400, "A destroyed version cannot change status")
        if status == "DISABLED" and version is secret.active:
            return error(400, "The latest version of a secret cannot be disabled")
        version.status = status
        return 200, version.body()

    def destroy_version(self, esv_id: str, number: str) -> Answer:
        secret = self.secrets.get(esv_id)
        version = secret.version(number) if secret else None
        if secret is None or version is None:
            return error(404, NO_VERSION)
        if version is secret.active:
            return error(400, "The active version of a secret cannot be destroyed")
        version.status, version.value_base64 = "DESTROYED", None
        return 200, version.body()

    # -- restart ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, tuple[str, str, str]]:
        """What a restart beginning now loads: id -> (base64, type or "secret", version);
        for a variable, "version" is its count of changes."""
        taken: dict[str, tuple[str, str, str]] = {}
        for variable in self.variables.values():
            taken[variable.id] = (
                variable.value_base64,
                variable.expression_type,
                str(variable.changes),
            )
        for secret in self.secrets.values():
            assert secret.active.value_base64 is not None
            taken[secret.id] = (secret.active.value_base64, "secret", secret.active.version)
        return taken

    def load(self, taken: dict[str, tuple[str, str, str]]) -> None:
        """The end of a restart: every ESV is loaded as it was in ``taken``."""
        self.runtime = {}
        for esv_id, (value, kind, version) in taken.items():
            variable, secret = self.variables.get(esv_id), self.secrets.get(esv_id)
            if variable is not None and kind != "secret":
                variable.loaded_changes = int(version)
            if secret is not None and kind == "secret":
                if not secret.use_in_placeholders:
                    continue  # loaded at once, never seen by placeholders
                secret.loaded_version = version
            self.runtime[esv_id] = (base64.b64decode(value).decode(errors="replace"), kind)
