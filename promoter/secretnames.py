"""Names that make a value a secret, whatever the value looks like.

A key whose last dotted part names a password, secret, token or key (``password``,
``clientSecret``, ``mail.smtp.proxy.password``, ``api_key``...) holds a credential: a
literal value there is a plaintext secret (``check``'s EMAIL002, ``scan``'s SECRET001),
even when it holds ``@`` or spaces that a credential-shape heuristic would pass over.
"""

from __future__ import annotations

import re

_KEYWORD = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|private[_-]?key|credential|"
    r"auth[_-]?key|access[_-]?key|signing[_-]?key|bearer)$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """A key whose value is a credential by its name (``clientSecret``, ``api_key``...)."""
    return bool(_KEYWORD.search(key.rsplit(".", 1)[-1]))
