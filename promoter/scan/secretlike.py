"""Does a string look like a credential? The heuristics of ``scan``'s SECRET002.

Modelled on Yelp/detect-secrets: entropy is measured only on values shaped like a
credential (one token of base64 / URL-safe / hex characters), a secret-sounding key
(``token``, ``apiKey``, ``clientSecret``...) lowers the bar, and known non-secret
shapes are filtered out first: hostnames and dotted names, URLs, addresses, paths,
UUIDs, placeholders and templates, JavaMail ``key=value`` property lines, protocol
lists and version strings, sequential strings, and values of ``...id`` keys.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter

from promoter.secretnames import is_secret_key

_ID_KEY = re.compile(r"(^|[a-z_.-])(id|Id|ID)$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_TEMPLATE = re.compile(r"&\{[^}]*\}|\$\{[^}]*\}|\{\{.*\}\}|^<.*>$|^\{.*\}$|^\$")
_TOKEN = re.compile(r"^[A-Za-z0-9+/=~._-]+$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# A hostname or dotted name: labels that start with a letter or digit, letters last.
_DOTTED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)*\.[A-Za-z]{2,}$")
_PROPERTY = re.compile(r"^([a-z][a-z0-9]*(?:\.[A-Za-z0-9_-]+)+)=(.*)$")
_VERSIONED = re.compile(r"^[A-Za-z]+v?\d+(\.\d+)*$")  # TLSv1.2, SSLv3, v1.2.3
_NOT_TOKENS = re.compile(r"://|@|\s|^[./~]")
_SEQUENCES = (
    string.ascii_uppercase * 2 + string.digits + "+/",
    string.digits + string.ascii_uppercase * 2 + "+/",
    (string.digits + string.ascii_uppercase) * 2,
    string.digits * 2,
    string.hexdigits.upper() * 2,
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_secret(value: str, key: str = "") -> bool:
    """``value`` (found under ``key``) is worth a SECRET002 finding."""
    value = value.strip()
    prop = _PROPERTY.match(value)
    if prop:  # "mail.smtp.ssl.protocols=TLSv1.2": judge the value, in its key's context
        return looks_like_secret(prop.group(2), prop.group(1))
    if not value or _TEMPLATE.search(value) or _NOT_TOKENS.search(value):
        return False
    if is_secret_key(key):
        return len(value) >= 8 and not _known_shape(value) and entropy(value) >= 2.5
    if _ID_KEY.search(key) or len(value) < 20 or _known_shape(value):
        return False
    return _random_token(value)


def _known_shape(value: str) -> bool:
    return bool(
        _UUID.search(value)
        or _DOTTED.match(value)
        or _VERSIONED.match(value)
        or any(value.upper() in sequence for sequence in _SEQUENCES)
    )


def _random_token(value: str) -> bool:
    if not _TOKEN.match(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if not (has_digit and has_alpha):
        return False
    if _HEX.match(value):  # hex has 16 symbols: at most 4 bits per character
        return len(value) >= 32 and entropy(value) >= 3.0
    # A random token of n distinct characters has at most log2(n) bits per character:
    # ask for most of what its length allows (short secrets cannot reach a fixed 4.5).
    return entropy(value) >= min(4.0, 0.8 * math.log2(len(value)))
