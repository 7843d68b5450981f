"""Host names as URLs carry them: the one place loopback is decided."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (as ``urlsplit(...).hostname`` gives it) never leaves the machine.

    True for ``localhost`` (any case, one trailing dot allowed), for an IPv4 address in
    127.0.0.0/8, for ``::1`` and for an IPv4-mapped IPv6 address of a loopback IPv4 one.
    A name that merely starts with ``127.`` (``127.relay.corp.example``) is a DNS name
    like any other: parsed, never matched by prefix.
    """
    if not host:
        return False
    name = host.strip("[]").lower()
    if name.endswith("."):
        name = name[:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
