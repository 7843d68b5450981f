"""Hypothesis strategies for the differential test of the fast ``check`` validator.

They produce plain data (dict, list, str, int, float, bool, None and, for waivers,
datetime.date) as promoter's loader hands it to pydantic:

- :func:`email_configs` for ``promoter.model.EmailConfig`` (an overlay after merging:
  ``smtpProperties`` in mapping form);
- :func:`project_settings` for ``promoter.project.ProjectSettings`` (promoter.yaml);
- :func:`mutated` / :func:`mutations` for near misses of either: one or two small
  changes (a type swap, a stray newline, an extra key, alias and name together...), so
  that about half of them are still valid and the rest fail in one place.

The base strategies draw valid data almost always, including borderline valid forms
(``"0587"``, ``" &{a} "``, timeouts of 0 and 2**64, ``from_`` for ``from``), because the
fast validator must accept exactly what pydantic accepts.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from hypothesis import strategies as st

from promoter.model.placeholders import TYPED_FORMS
from promoter.model.shapes import KNOWN_SMTP_PROPERTIES

# --- placeholders ---------------------------------------------------------------------------

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
placeholder_names = st.one_of(
    st.sampled_from(
        [
            "esv.email.port",
            "esv.email.password",
            "esv-email-host",
            "aic.customer.sasl.pass",
            "openidm.email.host",
            "email.sender.address",
        ]
    ),
    st.text(alphabet=_NAME_CHARS, min_size=1, max_size=12),
)
# A default holds anything but '}' (also '|', '{', spaces and newlines).
_defaults = st.one_of(
    st.none(),
    st.sampled_from(["", "587", "25", "true", "false", "30000", "smtp.example.com", "a|b"]),
    st.text(alphabet=st.characters(exclude_characters="}", codec="utf-8"), max_size=8),
)


@st.composite
def placeholders(draw: st.DrawFn) -> str:
    """``&{name}`` or ``&{name|default}``."""
    name = draw(placeholder_names)
    default = draw(_defaults)
    return f"&{{{name}}}" if default is None else f"&{{{name}|{default}}}"


# Whitespace YAML can hand over around a placeholder: the port pattern allows \s* on both ends.
_pad = st.sampled_from(["", "", "", " ", "  ", "\t", "\n", " \n"])


@st.composite
def _padded_placeholder(draw: st.DrawFn) -> str:
    return draw(_pad) + draw(placeholders()) + draw(_pad)


@st.composite
def _embedded_placeholder(draw: st.DrawFn) -> str:
    """A string holding a placeholder somewhere: typed forms' pattern is searched, not anchored."""
    before = draw(st.sampled_from(["", "", "", "x", " ", "tls-", "&{"]))
    after = draw(st.sampled_from(["", "", "", "x", " ", "\n", "}"]))
    return before + draw(placeholders()) + after


def _typed(key: str) -> st.SearchStrategy[dict[str, Any]]:
    return _embedded_placeholder().map(lambda expr: {key: expr})


# --- leaves -----------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=16)
_short_text = st.one_of(
    st.sampled_from(["", "x", "smtp.example.com", "José", "&{esv.email.host}", " padded "]),
    _text,
)
_nonempty_text = st.one_of(
    st.sampled_from(["x", "https://graph.microsoft.com/v1.0/users/a/sendMail", "&{esv.x}"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=16),
)


def positive_ints() -> st.SearchStrategy[Any]:
    """``PositiveInt``: an int >= 1, ``{$int: ...}`` or ``{$number: ...}``."""
    return st.one_of(
        st.integers(1, 100),
        st.sampled_from([1, 2**31 - 1, 2**63, 2**64 + 1]),
        _typed("$int"),
        _typed("$number"),
    )


def timeouts() -> st.SearchStrategy[Any]:
    """``TimeoutMs``: an int >= 0 (0 disables), ``{$int: ...}`` or ``{$number: ...}``."""
    return st.one_of(
        st.integers(0, 600_000),
        st.sampled_from([0, 300_000, 2**63, 2**64]),
        _typed("$int"),
        _typed("$number"),
    )


@st.composite
def _digit_port(draw: st.DrawFn) -> str:
    number = draw(st.integers(1, 65535))
    text = str(number)
    zeros = draw(st.integers(0, 5 - len(text)))  # "0587" is 1-5 digits and in range
    return "0" * zeros + text


def ports() -> st.SearchStrategy[Any]:
    """``Port``: int 1..65535, a digit string, a padded placeholder, ``$int`` or ``$number``."""
    return st.one_of(
        st.integers(1, 65535),
        st.sampled_from([1, 25, 465, 587, 65535]),
        _digit_port(),
        _padded_placeholder(),
        _typed("$int"),
        _typed("$number"),
    )


def bools() -> st.SearchStrategy[Any]:
    """``Bool``: true/false or ``{$bool: ...}``."""
    return st.one_of(st.booleans(), _typed("$bool"))


_crypto_inner = st.fixed_dictionaries(
    {
        "type": st.just("x-simple-encryption"),
        "value": st.fixed_dictionaries(
            {
                "cipher": st.just("AES/CBC/PKCS5Padding"),
                "data": st.text(alphabet="ABCDEFabcdef0123456789+/=", max_size=24),
                "iv": st.text(alphabet="ABCDEFabcdef0123456789+/=", max_size=24),
            },
            optional={
                "stableId": st.just("openidm-sym-default"),
                "keySize": st.sampled_from([16, 32]),
                "purpose": st.just("idm.config.encryption"),
            },
        ),
    }
)
# CryptoValue allows extra keys: anything may sit beside $crypto, even "$purpose" or "crypto".
_crypto_extra = st.dictionaries(
    st.sampled_from(["$type", "note", "$purpose", "crypto", "x"]),
    st.one_of(st.none(), st.integers(), _short_text, st.just({"name": ""})),
    max_size=2,
)


@st.composite
def _crypto(draw: st.DrawFn) -> dict[str, Any]:
    inner = draw(st.one_of(_crypto_inner, st.just({}), st.dictionaries(_short_text, st.integers())))
    return {"$crypto": inner, **draw(_crypto_extra)}


def _purpose_spec() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["idm.email.password", "x"]), _nonempty_text)},
        optional={
            "jsonPointer": st.one_of(st.none(), st.sampled_from(["clientSecret", "/a/b", ""]))
        },
    )


def secrets() -> st.SearchStrategy[Any]:
    """``SecretValue``: a literal string, ``{$purpose: {...}}`` or ``{$crypto: ...}`` (+ extras)."""
    return st.one_of(
        _text,
        placeholders(),
        _purpose_spec().map(lambda spec: {"$purpose": spec}),
        _crypto(),
    )


_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=8)
_domain = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z]{2,4}){1,2}", fullmatch=True)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """A ``from`` the model accepts: an address, ``Name <address>``, a placeholder."""
    address = f"{draw(_local)}@{draw(_domain)}"
    form = draw(st.sampled_from(["plain", "named", "quoted", "angle", "placeholder", "padded"]))
    if form == "named":
        name = draw(st.sampled_from(["Example", "José Müller", "Ops Team", ""]))
        return f"{name} <{address}>"
    if form == "quoted":
        return f'"Example, Corp" <{address}>'
    if form == "angle":
        return f"<{address}>"
    if form == "placeholder":
        return draw(st.sampled_from(["", "x ", "Ops <"])) + draw(placeholders())
    if form == "padded":  # address_of strips, so spaces and a final newline pass
        return draw(st.sampled_from([" ", "\n", ""])) + address + draw(st.sampled_from([" ", "\n"]))
    return address


def _aliased(alias: str, name: str) -> st.SearchStrategy[str]:
    """The key a field is written under: its alias, or (populate_by_name) its python name."""
    return st.sampled_from([alias, alias, name])


_present = st.sampled_from([True, True, False])  # optional fields: mostly present


@st.composite
def _fields(
    draw: st.DrawFn,
    required: dict[Any, st.SearchStrategy[Any]],
    optional: dict[Any, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """A mapping; a key given as (alias, name) is written under one of the two."""
    out: dict[str, Any] = {}
    for key, strategy in required.items():
        out[draw(_aliased(*key)) if isinstance(key, tuple) else key] = draw(strategy)
    for key, strategy in optional.items():
        if draw(_present):
            out[draw(_aliased(*key)) if isinstance(key, tuple) else key] = draw(strategy)
    return out


# --- email configs ----------------------------------------------------------------------------

_prop_keys = st.one_of(
    st.sampled_from(sorted(KNOWN_SMTP_PROPERTIES) + ["mail.smtp.x-custom", "x"]), _nonempty_text
)
smtp_properties = st.dictionaries(
    _prop_keys, st.one_of(st.sampled_from(["TLSv1.2 TLSv1.3", "true", ""]), _text), max_size=4
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy, strategy)


def _common() -> dict[Any, st.SearchStrategy[Any]]:
    return {
        ("_id", "id_"): _optional(st.sampled_from(["external.email", ""])),
        ("_rev", "rev_"): _optional(st.sampled_from(["1", "3", "abc-1"])),
        ("from", "from_"): _optional(addresses()),
        "threadPoolSize": positive_ints(),
        "connectiontimeout": timeouts(),
        "timeout": timeouts(),
        "writetimeout": timeouts(),
        "smtpProperties": st.one_of(st.just({}), smtp_properties),
    }


def smtp_configs() -> st.SearchStrategy[dict[str, Any]]:
    toggle = _fields({}, {"enable": bools()})
    auth = _fields(
        {"enable": bools()},
        {
            "username": _optional(secrets()),
            "password": _optional(secrets()),
            "type": st.just("basic"),
        },
    )
    return _fields(
        {},
        {
            **_common(),
            "type": st.just("smtp"),
            "host": _optional(st.sampled_from(["smtp.example.com", "", "&{aic.smtp.relay.host}"])),
            "port": ports(),
            "debug": bools(),
            "fromName": _optional(_short_text),
            "auth": _optional(auth),
            "starttls": toggle,
            "ssl": toggle,
        },
    )


def scopes() -> st.SearchStrategy[Any]:
    """``Scope``: a non-empty list of strings, ``{$list: ...}`` or ``{$array: ...}``."""
    return st.one_of(
        st.lists(
            st.one_of(st.just("https://graph.microsoft.com/.default"), _text),
            min_size=1,
            max_size=3,
        ),
        _typed("$list"),
        _typed("$array"),
    )


def proxies() -> st.SearchStrategy[Any]:
    """``ProxyValue``: a Proxy mapping (possibly empty) or ``{$object: ...}``."""
    proxy = _fields(
        {},
        {
            "proxyUri": _optional(st.just("http://proxy.example.com:3128")),
            "userName": _optional(_short_text),
            "password": _optional(secrets()),
        },
    )
    return st.one_of(proxy, _typed("$object"))


def msgraph_configs() -> st.SearchStrategy[dict[str, Any]]:
    auth = _fields(
        {
            "type": st.just("oauth2"),
            "clientId": secrets(),
            "clientSecret": secrets(),
            "tokenEndpoint": _nonempty_text,
            "scope": scopes(),
        },
        {
            "enable": bools(),
            "scopeDelimiter": st.sampled_from([" ", ",", ""]),
            "grantType": st.just("client_credentials"),
        },
    )
    return _fields(
        {"type": st.just("msgraph"), "mailEndpoint": _nonempty_text, "auth": auth},
        {
            **_common(),
            "socketTimeout": _optional(st.sampled_from(["10 s", "0", ""])),
            "connectionTimeout": _optional(st.sampled_from(["10 s", "1m"])),
            "reuseConnections": _optional(bools()),
            "retryRequests": _optional(bools()),
            "maxConnections": _optional(positive_ints()),
            "tlsVersion": _optional(st.sampled_from(["TLSv1.2", "TLSv1.3"])),
            "hostnameVerifier": _optional(st.sampled_from(["STRICT", "ALLOW_ALL"])),
            "proxy": _optional(proxies()),
        },
    )


def email_configs() -> st.SearchStrategy[dict[str, Any]]:
    """Data for ``EmailConfig``: an smtp config (``type`` optional) or an msgraph one."""
    return st.one_of(smtp_configs(), msgraph_configs())


# --- promoter.yaml ----------------------------------------------------------------------------

_env_names = st.one_of(
    st.sampled_from(["dev", "staging", "prod", "qa"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8),
)
_paths = st.sampled_from(
    ["secrets/dev", "environments/base.yaml", "/abs/path", "../outside", "build/x.json", ""]
)
_env_var = st.sampled_from(["IDM_TOKEN", "IDM_USER", "IDM_PASSWORD", "SA_ID", "SA_KEY", ""])


def _seconds(most: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.floats(min_value=0.001, max_value=most, allow_nan=False),
        st.integers(1, most),  # strict float takes an int (never a bool)
    )


_positive_float = _seconds(3600)
_urls = st.sampled_from(
    [
        "https://idm.example.com/openidm",
        "http://127.0.0.1:8080/openidm",
        "https://idm.example.com:8443",
        "https://[::1]:9443/openidm",
        "https://idm.example.com/openidm\n",  # urlsplit drops the newline
    ]
)
_scope_list = st.lists(st.sampled_from(["fr:idm:*", "fr:am:*", ""]), min_size=1, max_size=2)


def _auth_fields() -> dict[Any, st.SearchStrategy[Any]]:
    return {
        "caFile": _optional(_paths),
        "timeout": _positive_float,
        "retries": st.integers(0, 10),
    }


@st.composite
def _auth_kind(draw: st.DrawFn) -> dict[str, Any]:
    """Exactly one way to log in (or none): bearer, username/password, oauth2, service account."""
    kind = draw(st.sampled_from(["none", "bearer", "basic", "oauth2", "serviceAccount"]))
    if kind == "bearer":
        return {"bearerEnv": draw(_env_var)}
    if kind == "basic":
        return {"usernameEnv": draw(_env_var), "passwordEnv": draw(_optional(_env_var))}
    if kind == "oauth2":
        oauth2 = draw(
            _fields(
                {
                    "tokenEndpoint": st.just("https://am.example.com/oauth2/access_token"),
                    "clientIdEnv": _env_var,
                    "clientSecretEnv": _env_var,
                },
                {"scope": _scope_list},
            )
        )
        return {"oauth2": oauth2}
    if kind == "serviceAccount":
        account = draw(
            _fields(
                {"idEnv": _env_var},
                {
                    "keyEnv": _optional(_env_var),
                    "keyFile": _optional(_paths),
                    "scope": _optional(_scope_list),
                    "tokenEndpoint": _optional(st.just("https://t.example.com/am/oauth2/token")),
                },
            )
        )
        return {"serviceAccount": account}
    return {}


@st.composite
def targets(draw: st.DrawFn) -> dict[str, Any]:
    """A file, idm (each auth kind) or aic target."""
    kind = draw(st.sampled_from(["file", "idm", "aic"]))
    if kind == "file":
        return {"file": draw(_paths)}
    tenants = st.sampled_from(["https://t.example.com", "http://127.0.0.1:8080"])
    out = {kind: draw(_urls if kind == "idm" else tenants)}
    out.update(draw(_auth_kind()))
    out.update(draw(_fields({}, _auth_fields())))
    if kind == "aic":
        out.update(
            draw(_fields({}, {"pollInterval": _seconds(300), "waitTimeout": _seconds(86400)}))
        )
    return out


_esv_names = st.one_of(
    st.sampled_from(["esv.email.password", "esv-email-port", "esv.x", "not-an-esv"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz.-_", min_size=1, max_size=12),
)
_literals = st.one_of(
    _short_text,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # the loader refuses nan and inf
    st.booleans(),
)


def esv_values() -> st.SearchStrategy[Any]:
    """None (declared), a literal, or an ESV secret: ``{$purpose: ...}`` (or ``purpose``)."""
    return st.one_of(
        st.none(),
        _short_text,
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        _purpose_spec().map(lambda spec: {"$purpose": spec}),
        _purpose_spec().map(lambda spec: {"purpose": spec}),
    )


def esvs() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(_esv_names, max_size=3),
        st.dictionaries(_esv_names, esv_values(), max_size=3),
    )


def _properties() -> st.SearchStrategy[Any]:
    names = st.sampled_from(["openidm.email.host", " padded ", "x"])
    return st.one_of(
        st.lists(names, max_size=3),
        st.dictionaries(names, st.one_of(st.none(), _literals), max_size=3),
    )


def _stores() -> st.SearchStrategy[Any]:
    store = _fields(
        {"directory": _paths},
        {
            "format": st.sampled_from(["plain", "base64"]),
            "versionSuffix": _optional(st.sampled_from([".v", "-", "_version"])),
        },
    )
    return st.one_of(_paths, store)


def environment_settings() -> st.SearchStrategy[dict[str, Any]]:
    return _fields(
        {},
        {
            "tier": _optional(st.sampled_from(["development", "staging", "production"])),
            "overlay": _optional(_paths),
            "secrets": _optional(_stores()),
            "render": st.sampled_from(["resolved", "references"]),
            "target": st.one_of(st.none(), targets(), targets(), targets()),
            "esvs": esvs(),
            "properties": _properties(),
            "requireVerified": st.booleans(),
            "allowOutsideRepo": st.booleans(),
        },
    )


_MIDNIGHT_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z


def expiries() -> st.SearchStrategy[Any]:
    """``expires`` (lax date): a date, 'YYYY-MM-DD', and the odd forms pydantic also takes."""
    days = st.dates(min_value=date(1970, 1, 1), max_value=date(2999, 12, 31))
    return st.one_of(
        days,
        days.map(date.isoformat),
        st.sampled_from(
            [
                "2025-01-01T00:00:00",
                "2025-01-01T00:00:00Z",
                "2025-01-01 00:00",
                "2025-01-01T00:00:00.000+02:00",
                _MIDNIGHT_EPOCH,  # unix seconds at midnight UTC
                float(_MIDNIGHT_EPOCH),
                str(_MIDNIGHT_EPOCH),
                _MIDNIGHT_EPOCH * 1000,  # read as milliseconds
                0,
                -86400,
            ]
        ),
    )


def waivers() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            # The EMAIL\d{3} pattern is only in the JSON schema; the model takes any string.
            "rule": st.sampled_from(["EMAIL006", "EMAIL017", "email6", ""]),
            "env": _env_names,
            "reason": _nonempty_text,
            "expires": expiries(),
        }
    )


def scan_settings() -> st.SearchStrategy[dict[str, Any]]:
    allow = st.fixed_dictionaries(
        {
            "fingerprint": st.text(alphabet="0123456789abcdef", min_size=16, max_size=16).map(
                lambda h: "fp:" + h
            ),
            "reason": _nonempty_text,
        }
    )
    return _fields(
        {},
        {
            "examples": st.lists(st.sampled_from(["secrets/staging/", "secrets/prod/", ""])),
            "allow": st.lists(allow, max_size=2),
        },
    )


def project_settings() -> st.SearchStrategy[dict[str, Any]]:
    """Data for ``ProjectSettings`` (promoter.yaml); every key optional."""
    return _fields(
        {},
        {
            "order": _optional(st.lists(_env_names, max_size=4)),
            "base": _optional(_paths),
            "environments": st.one_of(
                st.just({}),
                st.dictionaries(_env_names, environment_settings(), min_size=1, max_size=4),
            ),
            "waivers": st.lists(waivers(), max_size=2),
            "scan": scan_settings(),
        },
    )


# --- near misses ------------------------------------------------------------------------------

# alias <-> python field name (populate_by_name): both together, or the name where only the
# alias is read (the typed forms' and secrets' discriminators look for the '$' key only).
ALIASES: dict[str, str] = {
    "from": "from_",
    "_id": "id_",
    "_rev": "rev_",
    "$int": "value",
    "$number": "value",
    "$bool": "value",
    "$list": "value",
    "$array": "value",
    "$object": "value",
    "$purpose": "purpose",
    "$crypto": "crypto",
}
_NAMES = {name: alias for alias, name in ALIASES.items() if alias not in ("$number", "$bool")}

NEAR_PLACEHOLDERS = (
    "&{}",
    "&{a|}",
    "&{a}x",
    " &{a} ",
    "&{a",
    "&{a b}",
    "&{a}&{b}",
    "x&{a}",
    "&{a|b}c",
    "\n&{a}",
    "&{a}\n",
    "&{a}\r",
    "&{é}",
    "${a}",
    "&{a|}}",
)
NEAR_NUMBERS = ("0", "00000", "65536", "0587", "587 ", " 587", "587\n", "٥٨٧", "5e2", "-1", "+1")
TYPED_KEYS = TYPED_FORMS


def _value_swaps(value: Any) -> dict[str, list[tuple[str, Any]]]:
    """Near misses of one value by kind of change: {kind: [(label, replacement)]}."""
    out: dict[str, list[tuple[str, Any]]] = {"type": [("none", None)]}
    typed: list[tuple[str, Any]] = [
        ("$int-5", {"$int": 5}),
        ("typed-2-keys", {"$int": "&{a}", "$number": "&{b}"}),
        ("typed+extra", {"$bool": "&{a}", "x": 1}),
        ("typed-deep", {"$int": {"$number": {"$int": {"$bool": "&{a}"}}}}),
    ]
    typed += [(f"typed-nested {k}", {k: {k: "&{a}"}}) for k in ("$int", "$bool", "$object")]
    typed += [(f"typed {k}", {k: "&{esv.x}"}) for k in TYPED_KEYS]
    if isinstance(value, bool):
        out["type"] += [("bool->int", int(value)), ("bool->str", str(value).lower())]
        out["value"] = [("flip", not value)]
        out["typed"] = typed
    elif isinstance(value, int):
        out["type"] += [("int->bool", value % 2 == 1), ("int->float", float(value))]
        out["type"] += [("int->str", str(value)), ("int->str\\n", f"{value}\n")]
        out["typed"] = [("int->$int", {"$int": str(value)}), ("$int-int", {"$int": value})]
        out["typed"] += typed
        out["range"] = [(f"int={n}", n) for n in (0, 65536, -1, 2**63, 1, 65535)]
    elif isinstance(value, float):
        out["type"] += [
            ("float->int", int(value)),
            ("float->bool", True),
            ("float->str", str(value)),
        ]
        out["range"] = [("float=-1.0", -1.0), ("float=0.0", 0.0), ("float=1e300", 1e300)]
        out["range"] += [("float=587.0", 587.0)]
    elif isinstance(value, str):
        out["text"] = [
            ("str+\\n", value + "\n"),
            ("str+\\r", value + "\r"),
            ("str-padded", f" {value} "),
            ("str-lead-space", " " + value),
            ("str+nonascii", value + "é"),
            ("str+control", value + "\x07"),
            ("str+nul", value + "\x00"),
            ("str-empty", ""),
        ]
        out["type"] += [("str->int", len(value)), ("str->list", [value]), ("str->bool", True)]
        out["type"] += [("str->$int", {"$int": value})]
        out["placeholder"] = [(f"near-placeholder {p!r}", p) for p in NEAR_PLACEHOLDERS]
        out["number"] = [(f"near-number {n!r}", n) for n in NEAR_NUMBERS]
        if value.isascii() and value.isdigit():  # "²".isdigit(), yet int("²") fails
            out["type"] += [("digits->int", int(value))]
    elif isinstance(value, date):
        out["type"] += [("date->iso", value.isoformat()), ("date->str\\n", f"{value}\n")]
        out["type"] += [("date->int", value.toordinal()), ("date->datetime", f"{value}T00:00:01")]
    elif isinstance(value, list):
        out["shape"] = [("none", None), ("list->dict", dict(enumerate(value))), ("list-empty", [])]
        out["shape"] += [("list+none", [*value, None]), ("list+int", [*value, 1])]
        out["shape"] += [("list->str", ",".join(map(str, value)))]
        out["shape"] += [("list->first", value[0])] if value else []
        out["typed"] = [("list->$list", {"$list": "&{esv.x}"}), ("list->$array", {"$array": "x"})]
    elif isinstance(value, dict):
        out["shape"] = [
            ("none", None),
            ("dict->list", [value]),
            ("dict->keys", list(value)),
            ("dict-empty", {}),
        ]
        out["shape"] += [("dict->str", "&{esv.x}")]
        out["typed"] = typed
    else:
        out["type"] += [("none->empty-str", ""), ("none->0", 0), ("none->{}", {}), ("none->[]", [])]
    return out


def _key_changes(mapping: dict[Any, Any]) -> list[tuple[str, dict[Any, Any]]]:
    """(label, replacement) near misses of a mapping's keys."""
    out: list[tuple[str, dict[Any, Any]]] = [
        ("extra-key", {**mapping, "unknownKey": "x"}),
        ("int-key", {**mapping, 1: "x"}),
        ("bool-key", {**mapping, True: "x"}),
        ("none-key", {**mapping, None: "x"}),
    ]
    for key in mapping:
        if not isinstance(key, str):
            continue
        rest = {k: v for k, v in mapping.items() if k != key}
        out.append((f"drop {key}", rest))
        out.append((f"key+space {key}", {**rest, key + " ": mapping[key]}))
        out.append((f"key-case {key}", {**rest, key.upper(): mapping[key]}))
        other = ALIASES.get(key) or _NAMES.get(key)
        if other is not None and other not in mapping:
            out.append((f"rename {key}->{other}", {**rest, other: mapping[key]}))
            out.append((f"both {key}+{other}", {**mapping, other: mapping[key]}))
    for typed in TYPED_KEYS:
        out.append((f"add {typed}", {**mapping, typed: "&{a}"}))
    out.append(("add $crypto", {**mapping, "$crypto": {}}))
    out.append(("add $purpose", {**mapping, "$purpose": {"name": "x"}}))
    return out


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out: list[tuple[tuple[Any, ...], Any]] = [(path, data)]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _nodes(value, (*path, index))
    return out


def _replace(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``data`` with the node at ``path`` replaced (copies along the path only)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: _replace(v, rest, new) if k == head else v for k, v in data.items()}
    return [_replace(v, rest, new) if i == head else v for i, v in enumerate(data)]


@st.composite
def _mutate_once(draw: st.DrawFn, data: Any) -> tuple[str, Any]:
    nodes = _nodes(data)
    # Prefer leaves and inner nodes over the root (a root swap is one easy rejection).
    path, node = draw(st.sampled_from(nodes[1:] or nodes))
    kinds = _value_swaps(node)
    if isinstance(node, dict):
        kinds["keys"] = _key_changes(node)
    # Kind first, then the change: every kind is drawn about as often, however many it holds.
    kind = draw(st.sampled_from(sorted(kinds)))
    label, new = draw(st.sampled_from(kinds[kind]))
    where = "/" + "/".join(map(str, path))
    return f"{where}: {kind}/{label}", _replace(data, path, new)


@st.composite
def mutations(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> tuple[str, Any]:
    """(what changed, data): ``strategy``'s data with one or two near-miss changes."""
    data = draw(strategy)
    labels = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        label, data = draw(_mutate_once(data))
        labels.append(label)
    return "; ".join(labels), data


def mutated(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Near misses of ``strategy``'s data (about half still valid); see :func:`mutations`."""
    return mutations(strategy).map(lambda pair: pair[1])


# --- classifying draws (for hypothesis.event and coverage assertions) ---------------------------


def shape(value: Any) -> str:
    """A short name of a value's union branch: int, bool, digits, placeholder, $int, list..."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else "float"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return "digits"
        return "placeholder" if "&{" in value else "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        marked = sorted(k for k in value if isinstance(k, str) and k.startswith("$"))
        return marked[0] if marked else "mapping"
    return type(value).__name__
