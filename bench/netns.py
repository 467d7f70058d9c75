"""App hosts on this machine: a network namespace per host, linked to the host namespace
by a veth pair, for benches that need more than one host (`bench scaleout`).

Each host gets a /30 of a /24 picked per run (one no address or route of this machine is
in): the host end of its veth is the gateway, where the shared PostgreSQL and Redis
listen; the namespace end is the host's own address, where its nginx listens and the
bench's clients (in the host namespace) connect. `lo` is up inside too: the shape's
children talk over unix sockets, but anything on 127.0.0.1 in there is the namespace's own.

Every name carries the run's tag (`lt<letter><tag>`, veths `...h` and `...n`, at most 15
characters as Linux wants), so `leftovers()` finds exactly this run's namespaces and links,
and leaving the context deletes them - Ctrl-C included. Deleting the host end of a veth
deletes its pair; a namespace lives on while a process runs in it, so whatever the
caller's `finally` did not stop is killed before the namespace is deleted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Self


class NetnsError(RuntimeError):
    """Namespaces cannot be made here; the message says why."""


def _ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def unavailable() -> str | None:
    """Why namespaces cannot be made on this machine, or None if they can."""
    if shutil.which("ip") is None:
        return "the `ip` command is not installed (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "making network namespaces needs root (run as root)"
    return None


@dataclass(frozen=True)
class AppHost:
    """One host: its namespace, veth pair and addresses."""

    letter: str
    netns: str
    veth_host: str  # in the host namespace
    veth_inner: str  # moved into the namespace
    gateway: str  # the host end's address: the shared services, seen from inside
    address: str  # the namespace end's: where the host's nginx listens

    @property
    def names(self) -> tuple[str, ...]:
        return (self.netns, self.veth_host, self.veth_inner)


def _used_prefixes() -> str:
    return _ip("-4", "-o", "addr") + _ip("-4", "route", "show", "table", "all")


def _free_network(tries: int = 50) -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 that no address or route of this machine is in."""
    used = _used_prefixes()
    for _ in range(tries):
        network = ipaddress.IPv4Network(
            f"10.{secrets.randbelow(150) + 100}.{secrets.randbelow(256)}.0/24"
        )
        prefix = ".".join(str(network.network_address).split(".")[:3]) + "."
        if prefix not in used:
            return network
    raise NetnsError("no free 10.x.y.0/24 for the run's links")


class AppHosts:
    """`count` app hosts (A, B, ...) as network namespaces; a context manager that makes
    them on entry and deletes them (and their links) on exit."""

    def __init__(self, count: int = 2) -> None:
        if not 1 <= count <= 26:
            raise ValueError("between 1 and 26 hosts")
        # The pid keeps runs of concurrent processes apart; the random byte, runs of one.
        self.tag = f"{os.getpid() % 10**7}{secrets.token_hex(1)}"
        self.network = _free_network()
        hosts = []
        for index in range(count):
            letter = chr(ord("A") + index)
            name = f"lt{letter}{self.tag}"
            base = self.network.network_address + 4 * index
            hosts.append(
                AppHost(letter, name, f"{name}h", f"{name}n", str(base + 1), str(base + 2))
            )
        self.hosts: tuple[AppHost, ...] = tuple(hosts)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for host in self.hosts for name in host.names)

    @property
    def gateways(self) -> tuple[str, ...]:
        return tuple(host.gateway for host in self.hosts)

    def __enter__(self) -> Self:
        reason = unavailable()
        if reason:
            raise NetnsError(reason)
        try:
            for host in self.hosts:
                self._make(host)
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    @staticmethod
    def _make(host: AppHost) -> None:
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.veth_host, "type", "veth", "peer", "name", host.veth_inner)
        _ip("link", "set", host.veth_inner, "netns", host.netns)
        _ip("addr", "add", f"{host.gateway}/30", "dev", host.veth_host)
        _ip("link", "set", host.veth_host, "up")
        inside = ("-n", host.netns)
        _ip(*inside, "addr", "add", f"{host.address}/30", "dev", host.veth_inner)
        _ip(*inside, "link", "set", host.veth_inner, "up")
        _ip(*inside, "link", "set", "lo", "up")

    @staticmethod
    def pids(host: AppHost) -> list[int]:
        """Every process running in the host's namespace."""
        return [int(pid) for pid in _ip("netns", "pids", host.netns, check=False).split()]

    def kill(self, host: AppHost, first: int | None = None) -> None:
        """The host dies: SIGKILL to every process in its namespace (`first` before the
        rest: a supervisor, so it restarts nothing), until none is left. nginx clears its
        environment and its workers carry no run directory in their command line, so
        only the namespace finds them all."""
        if first is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(first, signal.SIGKILL)
        for _ in range(100):
            pids = self.pids(host)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)  # for the kernel to finish them
        raise NetnsError(f"processes outlived SIGKILL in {host.netns}: {self.pids(host)}")

    def remove(self) -> None:
        """Delete every link and namespace of the run that exists (each step is tried,
        whatever failed before it). Anything still running inside is this run's, and
        would keep the namespace alive: it is killed first."""
        for host in self.hosts:
            with contextlib.suppress(NetnsError):
                self.kill(host)
            _ip("link", "del", host.veth_host, check=False)
            _ip("netns", "del", host.netns, check=False)

    def leftovers(self) -> list[str]:
        """This run's names still in `ip netns list` or `ip link` (of the host namespace)."""
        listed = _ip("netns", "list", check=False) + _ip("-o", "link", check=False)
        words = {word.split("@")[0].rstrip(":") for word in listed.split()}
        return [name for name in self.names if name in words]
