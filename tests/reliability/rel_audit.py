"""Run-time guards for the security tests: a process-wide audit hook (installed once; it records only inside
:func:`watch`) that sees Python-level file opens and socket use, and a socket patch that refuses non-loopback
connections while watching."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

_RECORD: Recorded | None = None
_INSTALLED = False


@dataclass
class Recorded:
    """What happened while watching: ``opens`` (path, writable), ``network`` (event, address) to non-loopback."""

    opens: list[tuple[str, bool]] = field(default_factory=list)
    network: list[tuple[str, str]] = field(default_factory=list)


def is_loopback(host: object) -> bool:
    """True for localhost / 127.x / ::1 / unix sockets (anything that never leaves the machine)."""
    if not isinstance(host, str) or host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name that needs DNS


def _writable(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    import os

    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))


def _hook(event: str, args: tuple) -> None:
    record = _RECORD
    if record is None:
        return
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = args[0].decode(errors="replace") if isinstance(args[0], bytes) else args[0]
        record.opens.append((path, _writable(args[1], args[2] if len(args) > 2 else None)))
    elif event in ("socket.connect", "socket.sendto") and isinstance(args[-1], tuple) and \
            not is_loopback(args[-1][0]):
        record.network.append((event, str(args[-1])))
    elif event == "socket.getaddrinfo" and not is_loopback(args[0]):
        record.network.append((event, str(args[0])))


def _refusing(original):
    def connect(sock, address, *args, **kwargs):
        if isinstance(address, tuple) and not is_loopback(address[0]):
            if _RECORD is not None:
                _RECORD.network.append(("socket.connect", str(address)))
            raise ConnectionRefusedError(f"network access blocked by the reliability test: {address}")
        return original(sock, address, *args, **kwargs)

    return connect


@contextlib.contextmanager
def watch(monkeypatch) -> Iterator[Recorded]:
    """Record opens and network use, and refuse non-loopback connections, for the duration of the block."""
    global _RECORD, _INSTALLED
    if not _INSTALLED:
        sys.addaudithook(_hook)  # cannot be removed: it does nothing outside watch()
        _INSTALLED = True
    monkeypatch.setattr(socket.socket, "connect", _refusing(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _refusing(socket.socket.connect_ex))
    record = Recorded()
    _RECORD = record
    try:
        yield record
    finally:
        _RECORD = None
