"""Turn the pydantic models' core schemas into the fast validator's plans (``_plans.py``).

A plan is the core schema pydantic builds from the model classes, reduced to plain
data the fast validator (``fast.py``) walks: which keys a mapping holds, each
value's type and constraints, which function picks a union's branch. Functions are
named (``promoter.shapes`` holds them all), refs get stable names. Anything the
fast validator does not implement stops generation with the node that has it, so a
model change can never be validated by a plan that ignores part of it.

Strictness is not carried: the fast validator takes only values of exactly the
type asked for, which pydantic's strict and lax modes both take unchanged.

After changing a model, regenerate them: ``python -m promoter.plangen``; a test
checks that ``_plans.py`` is what the models generate now.
"""

from __future__ import annotations

from typing import Any

from promoter.model import shapes

_IGNORED = {"metadata", "serialization", "ref"}


class UnsupportedSchema(Exception):
    """The core schema uses something the fast validator does not implement."""


class Planner:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self.refs: dict[str, str] = {}  # stable name -> pydantic's ref (names must not collide)

    def plan(self, core: Any) -> dict[str, Any]:
        root = self.node(core)
        return {"root": root, "defs": self.defs}

    def node(self, core: Any) -> Any:
        kind = core["type"]
        if kind == "definitions":
            self._keys(core, {"schema", "definitions"})
            for item in core["definitions"]:
                self.node(item)
            return self.node(core["schema"])
        if kind == "definition-ref":
            self._keys(core, {"schema_ref"})
            return {"t": "ref", "name": self._name(core["schema_ref"])}
        if "ref" in core:
            name = self._name(core["ref"])
            if name not in self.defs:
                self.defs[name] = None  # a ref inside its own definition
                self.defs[name] = self._plain(kind, core)
            return {"t": "ref", "name": name}
        return self._plain(kind, core)

    def _name(self, ref: str) -> str:
        name = _ref_name(ref)
        if self.refs.setdefault(name, ref) != ref:
            raise UnsupportedSchema(f"two definitions named {name}")
        return name

    def _plain(self, kind: str, core: Any) -> Any:
        handler = getattr(self, "_" + kind.replace("-", "_"), None)
        if handler is None:
            raise UnsupportedSchema(f"core schema type {kind!r}")
        return handler(core)

    def _keys(self, core: dict[str, Any], allowed: set[str]) -> None:
        extra = set(core) - allowed - _IGNORED - {"type"}
        if extra:
            raise UnsupportedSchema(f"{core['type']} with {sorted(extra)}")

    def _model(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"cls", "config", "custom_init", "root_model", "schema", "post_init"})
        if core.get("custom_init") or core.get("root_model") or core.get("post_init"):
            raise UnsupportedSchema(f"model {core['cls'].__name__} with custom init")
        config = core.get("config", {})
        allowed = {
            "extra_fields_behavior",
            "strict",
            "title",
            "validate_by_alias",
            "validate_by_name",
        }
        if set(config) - allowed:
            raise UnsupportedSchema(f"model config {sorted(set(config) - allowed)}")
        cls = core["cls"]
        fields = self._fields(core["schema"])
        kinds = [base.__name__ for base in cls.__mro__ if base.__module__ == shapes.__name__]
        return {
            "t": "model",
            "name": cls.__name__,
            "kinds": kinds,
            "extra": config.get("extra_fields_behavior", "ignore"),
            "by_name": bool(config.get("validate_by_name", False)),
            "by_alias": bool(config.get("validate_by_alias", True)),
            "fields": fields,
        }

    def _fields(self, core: dict[str, Any]) -> list[Any]:
        if core["type"] != "model-fields":
            raise UnsupportedSchema(f"model schema {core['type']!r}")
        self._keys(core, {"fields", "computed_fields", "model_name"})
        if core.get("computed_fields"):
            raise UnsupportedSchema("computed fields")
        out = []
        for name, field in core["fields"].items():
            self._keys(field, {"schema", "validation_alias", "serialization_alias"})
            alias = field.get("validation_alias")
            if alias is not None and not isinstance(alias, str):
                raise UnsupportedSchema(f"field {name}: alias paths")
            schema = field["schema"]
            default: Any = {"required": True}
            if schema["type"] == "default":
                default = self._default(schema)
                schema = schema["schema"]
            out.append({"name": name, "alias": alias, "schema": self.node(schema), **default})
        return out

    def _default(self, core: dict[str, Any]) -> dict[str, Any]:
        self._keys(core, {"schema", "default", "default_factory", "default_factory_takes_data"})
        if "default" in core:
            value = core["default"]
            if not isinstance(value, str | int | float | bool | type(None)):
                raise UnsupportedSchema(f"a mutable default {value!r}")
            return {"default": value}
        factory = core["default_factory"]
        if core.get("default_factory_takes_data"):
            raise UnsupportedSchema("a default factory that takes data")
        if factory in (dict, list):
            return {"factory": factory.__name__}
        if isinstance(factory, type):
            schema = getattr(factory, "__pydantic_core_schema__", None)
            if schema is None or "ref" not in _model_node(schema):
                raise UnsupportedSchema(f"default factory {factory!r}")
            model = _model_node(schema)
            return {"factory_model": self.node(model)["name"]}
        value = factory()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UnsupportedSchema(f"default factory returning {value!r}")
        return {"factory_value": value}

    def _nullable(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"schema"})
        return {"t": "nullable", "schema": self.node(core["schema"])}

    def _str(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"pattern", "min_length", "max_length", "strict"})
        if not isinstance(core.get("pattern", ""), str):
            # A compiled re.Pattern: pydantic runs Python's engine, whose '$' the fast
            # validator's agreement with the Rust engine (printable ASCII) does not cover.
            raise UnsupportedSchema(f"pattern {core['pattern']!r} (not a string)")
        out: dict[str, Any] = {"t": "str"}
        for key in ("pattern", "min_length", "max_length"):
            if key in core:
                out[key] = core[key]
        return out

    def _int(self, core: dict[str, Any]) -> Any:
        return self._number("int", core)

    def _float(self, core: dict[str, Any]) -> Any:
        if core.get("allow_inf_nan") is False:
            raise UnsupportedSchema("float without inf/nan")
        return self._number("float", core, {"allow_inf_nan"})

    def _number(self, kind: str, core: dict[str, Any], more: set[str] | None = None) -> Any:
        self._keys(core, {"ge", "le", "gt", "lt", "strict"} | (more or set()))
        out: dict[str, Any] = {"t": kind}
        for key in ("ge", "le", "gt", "lt"):
            if key in core:
                out[key] = core[key]
        return out

    def _bool(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"strict"})
        return {"t": "bool"}

    def _none(self, core: dict[str, Any]) -> Any:
        self._keys(core, set())
        return {"t": "none"}

    def _any(self, core: dict[str, Any]) -> Any:
        self._keys(core, set())
        return {"t": "any"}

    def _date(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"strict"})
        # Strict or lax, a date object is taken as it is; only lax takes 'YYYY-MM-DD'.
        return {"t": "date", "strict": bool(core.get("strict", True))}

    def _literal(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"expected"})
        expected = core["expected"]
        if not all(isinstance(v, str | int | bool) for v in expected):
            raise UnsupportedSchema(f"literal {expected!r}")
        return {"t": "literal", "expected": list(expected)}

    def _list(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"items_schema", "min_length", "max_length", "strict"})
        out: dict[str, Any] = {"t": "list", "items": self.node(core.get("items_schema", _ANY))}
        for key in ("min_length", "max_length"):
            if key in core:
                out[key] = core[key]
        return out

    def _dict(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"keys_schema", "values_schema", "min_length", "max_length", "strict"})
        if "min_length" in core or "max_length" in core:
            raise UnsupportedSchema("dict length constraints")
        return {
            "t": "dict",
            "keys": self.node(core.get("keys_schema", _ANY)),
            "values": self.node(core.get("values_schema", _ANY)),
        }

    def _tagged_union(self, core: dict[str, Any]) -> Any:
        self._keys(
            core,
            {
                "choices",
                "discriminator",
                "custom_error_type",
                "custom_error_message",
                "custom_error_context",
                "strict",
            },
        )
        return {
            "t": "tagged",
            "by": _function(core["discriminator"]),
            "choices": {tag: self.node(choice) for tag, choice in core["choices"].items()},
        }

    def _union(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"choices", "mode", "strict"})
        if core.get("mode", "smart") != "smart":
            raise UnsupportedSchema(f"union mode {core['mode']!r}")
        choices = [c[0] if isinstance(c, tuple) else c for c in core["choices"]]
        return {"t": "union", "choices": [self.node(choice) for choice in choices]}

    def _function_after(self, core: dict[str, Any]) -> Any:
        self._keys(core, {"function", "schema"})
        function = core["function"]
        if function.get("type") != "no-info":
            raise UnsupportedSchema("an after-validator that takes info")
        check = _function(function["function"])
        return {"t": "after", "check": check, "schema": self.node(core["schema"])}


_ANY = {"type": "any"}


def _model_node(schema: dict[str, Any]) -> dict[str, Any]:
    if schema["type"] == "definitions":
        return _model_node(schema["schema"])
    return schema


def _ref_name(ref: str) -> str:
    return ref.split(":", 1)[0]


def _function(function: Any) -> str:
    if not callable(function) or getattr(function, "__module__", None) != shapes.__name__:
        raise UnsupportedSchema(f"{function!r} is not a function of promoter.model.shapes")
    name = function.__name__
    if getattr(shapes, name, None) is not function:
        raise UnsupportedSchema(f"promoter.model.shapes.{name} is not {function!r}")
    return str(name)
