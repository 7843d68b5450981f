"""The one filter for text that reaches output: remote replies and our own messages.

Text from a remote party (IDM, AM, a token endpoint, Graph, an SMTP server) is untrusted: it
may echo what we sent (a form body, an ``AUTH PLAIN`` line, a PUT body) and it may hold
control characters that forge lines or drive the terminal. Show as little of it as possible:
prefer the known fields below; when free text must be shown, pass it through ``scrub``.

API (all pure functions, stdlib only, safe on the ``check`` path):

``scrub(text, sent, *, limit=200) -> str``
    Remove every value in ``sent`` and its encodings (raw; base64, standard and url-safe,
    whole or embedded at any offset, e.g. the ``\\0user\\0pass`` of ``AUTH PLAIN`` or a Basic
    header; url-encoded with ``quote`` and ``quote_plus``, any hex case; JSON-escaped;
    Python's repr of str and bytes, also of the JSON-escaped form, as an h11 error quotes a
    body), each replaced by ``<redacted>``; then ``escape_control``; then cap
    at ``limit`` characters (``…`` marks a cut). Values of fewer than 1 character are ignored.
``escape_control(text) -> str``
    Control characters (C0, DEL, C1), line and paragraph separators and bidi/format
    characters become visible escapes (``\\n``, ``\\t``, ``\\x1b``, ``\\u202e``): a message
    can never start a new line or emit an ANSI sequence. Apply to every message printed.
``smtp_auth_plain(username, password) -> str``
    The ``\\0user\\0pass`` string ``AUTH PLAIN`` base64-encodes: add it to ``sent``.
``sent_strings(*values) -> list[str]``
    Every string leaf of dicts, lists and strings (e.g. a JSON body and headers), for ``sent``.
``http_status(status) -> str``
    ``"401"`` for an int in 100..599, else ``"an invalid status"``.
``oauth_error(body) -> str | None``
    An OAuth ``error`` code (RFC 6749 5.2) when it is a plain token such as
    ``invalid_client``; never ``error_description``. ``body`` is the parsed JSON (any type).
``aadsts_codes(body) -> list[str]``
    The digits of Azure AD's ``error_codes`` (ints or digit strings), and any ``AADSTSnnnn``
    in ``error_description``: only the digits are returned, never the text around them.
``smtp_status(code, reply) -> str``
    ``"550"`` or ``"550 5.7.1"``: the reply code and, when the reply starts with one, the
    enhanced status code (RFC 3463). Never the reply text.
``exception_text(exc, sent, *, limit=120) -> str``
    ``TypeName`` or ``TypeName: <scrubbed first line>`` for an exception that may carry
    remote text (an httpx ``RemoteProtocolError`` can hold what the server sent back).
``remote_json(response) -> Any`` / ``json_text(text) -> Any``
    A remote answer's (a file target's) JSON; ``ValueError`` for anything else, including
    JSON nested deeper than ``MAX_JSON_DEPTH`` or deep enough to exhaust the stack.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "<redacted>"
_MAX_INPUT = 65_536  # longer replies are cut before scrubbing; the output cap is far lower
_MIN_EMBEDDED_B64 = 6  # shorter cores of an embedded base64 value match too much text

_B64 = "[A-Za-z0-9+/_-]"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_OAUTH_ERROR = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AADSTS = re.compile(r"AADSTS(\d{1,9})")
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def _visible(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _needs_escape(ch: str) -> bool:
    # Cc: C0/DEL/C1 (incl. ESC, CR, LF); Zl/Zp: separators str.splitlines breaks on;
    # Cf: bidi overrides and zero-width characters that disguise text;
    # Cs: a lone surrogate (a file name's undecodable byte) that UTF-8 cannot encode
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cf", "Cs")


def escape_control(text: str) -> str:
    """``text`` with every control, separator and format character made visible."""
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_visible(ch) if _needs_escape(ch) else ch for ch in text)


def smtp_auth_plain(username: str, password: str) -> str:
    """What ``AUTH PLAIN`` encodes (RFC 4616): ``\\0user\\0pass``."""
    return f"\0{username}\0{password}"


def sent_strings(*values: object) -> list[str]:
    """Every string leaf of ``values`` (dicts: keys are not leaves)."""
    out: list[str] = []
    stack: list[object] = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, bytes):
            out.append(item.decode("utf-8", "replace"))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return out


def _b64_cores(data: bytes) -> list[str]:
    """The base64 characters fixed by ``data`` alone, for each of the 3 byte alignments."""

    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode().rstrip("=")
        first = -(-offset * 8 // 6)  # first char whose bits all lie inside data
        last = (offset + len(data)) * 8 // 6  # chars before this one lie inside data
        core = encoded[first:last]
        if len(core) >= _MIN_EMBEDDED_B64:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))
    return cores


def _escaped(value: str) -> set[str]:
    """``value`` as JSON writes it (ASCII or not), each also as Python shows str and bytes."""

    bases = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    out = set(bases)
    for base in bases:
        out.add(repr(base)[1:-1])
        out.add(repr(base.encode("utf-8", "surrogatepass"))[2:-1])  # bytearray(b'...') too
    return out


def _forms(value: str) -> tuple[set[str], set[str]]:
    """(case-sensitive forms, case-insensitive forms) under which ``value`` may come back."""

    folded = {quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="")}
    return {f for f in _escaped(value) if f}, {f for f in folded if f}


def _b64_pattern(data: bytes) -> list[str]:
    """``data`` base64-encoded, alone or inside a longer blob, with the chars it touches."""

    whole = base64.b64encode(data).decode().rstrip("=")
    cores = {whole, whole.replace("+", "-").replace("/", "_"), *_b64_cores(data)}
    # the partial characters on either side carry bits of data: take them too
    return [f"{_B64}{{0,3}}{re.escape(c)}{_B64}{{0,3}}={{0,2}}" for c in cores if c]


def _pattern(sent: Iterable[str]) -> re.Pattern[str] | None:

    alternatives: list[tuple[int, str]] = []
    for value in sent:
        if not value:
            continue
        exact, folded = _forms(value)
        alternatives += [(len(f), re.escape(f)) for f in exact]
        alternatives += [(len(f), f"(?i:{re.escape(f)})") for f in folded]
        for base in {value, json.dumps(value)[1:-1]}:
            data = base.encode("utf-8", "surrogatepass")
            alternatives += [(len(p), p) for p in _b64_pattern(data)]
    if not alternatives:
        return None
    alternatives.sort(key=lambda item: -item[0])  # longest first: no partial leftovers
    return re.compile("|".join(dict.fromkeys(p for _, p in alternatives)))


def scrub(text: str, sent: Iterable[str], *, limit: int = 200) -> str:
    """``text`` without anything we sent, control characters escaped, at most ``limit`` chars."""
    pattern = _pattern(sent)
    cleaned = text[:_MAX_INPUT]
    if pattern is not None:
        cleaned = pattern.sub(REDACTED, cleaned)
    shown = escape_control(cleaned)
    if len(shown) > limit:
        shown = shown[: max(limit - 1, 0)] + "…"
    return shown


def http_status(status: object) -> str:
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return str(status)
    return "an invalid status"


def oauth_error(body: object) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error):
        return error
    return None


def aadsts_codes(body: object) -> list[str]:
    if not isinstance(body, dict):
        return []
    codes: list[str] = []
    raw = body.get("error_codes")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 10**9:
            codes.append(str(item))
        elif isinstance(item, str) and item.isascii() and item.isdigit() and len(item) <= 9:
            codes.append(item)
    description = body.get("error_description")
    if isinstance(description, str):
        codes += _AADSTS.findall(description[:10_000])
    return list(dict.fromkeys(codes))


def smtp_status(code: object, reply: bytes | str | None = None) -> str:
    if not (isinstance(code, int) and not isinstance(code, bool) and 200 <= code <= 599):
        return "an invalid reply code"
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else (reply or "")
    match = _ENHANCED.match(text.lstrip(" -")[:16])
    if match and match.group(1) == str(code)[0]:
        return f"{code} {match.group(0)}"
    return str(code)


def exception_text(exc: BaseException, sent: Iterable[str], *, limit: int = 120) -> str:
    name = type(exc).__name__
    lines = str(exc).splitlines()
    first = scrub(lines[0], sent, limit=limit) if lines else ""
    return f"{name}: {first}" if first else name


MAX_JSON_DEPTH = 64  # external.email and every answer we read are a few levels deep


def remote_json(response: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A remote answer's JSON. ``ValueError`` for anything else, including JSON nested so
    deep that decoding it exhausts the stack (``[`` x 100,000) or that our own recursive
    walks (diff, masking) would: callers treat it as "the answer is not JSON", which names
    the remote party."""
    return _bounded(response.json, max_depth)


def json_text(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for text someone else wrote (a file target's content): as
    :func:`remote_json`, ``ValueError`` for JSON nested too deep."""
    return _bounded(lambda: json.loads(text), max_depth)


def _bounded(decode: Callable[[], Any], max_depth: int) -> Any:
    try:
        value = decode()
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if _depth_over(value, max_depth):
        raise ValueError("JSON nested too deeply")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False
