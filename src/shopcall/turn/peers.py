"""Which addresses the relay may send to: only the media server's own ICE addresses.

An open relay would let anyone with credentials reach whatever this host can reach (the database,
Redis, the control plane, the internal network). coturn is told to deny every address and allow back
only the addresses Janus offers candidates on: the addresses of `ice_interfaces` (or of every
non-loopback interface that is up, which is what Janus uses when that is unset), `public_ip`, and
`turn_peer_ips`. Loopback is never allowed (coturn's own check refuses it before the allow list,
unless `allow-loopback-peers`, which ShopCall never sets); Janus gathers no loopback candidates anyway.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass

from shopcall.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Interface:
    name: str
    up: bool
    addresses: tuple[IPAddress, ...]


def list_interfaces() -> list[Interface]:
    """The host's interfaces and addresses (`ip -json addr`)."""
    try:
        out = subprocess.run(["ip", "-json", "addr", "show"], check=True, capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(f"cannot list the host's addresses with `ip -json addr` (iproute2): {e}") from e
    result: list[Interface] = []
    for item in json.loads(out):
        addrs = tuple(ipaddress.ip_address(a["local"]) for a in item.get("addr_info", []) if "local" in a)
        up = "UP" in item.get("flags", []) and item.get("operstate") != "DOWN"
        result.append(Interface(name=str(item["ifname"]), up=up, addresses=addrs))
    return result


def _usable(addr: IPAddress) -> bool:
    return not (addr.is_loopback or addr.is_link_local or addr.is_multicast or addr.is_unspecified)


def media_addresses(settings: Settings, interfaces: list[Interface]) -> list[IPAddress]:
    """The addresses Janus's ICE candidates use, as `default_ice_interfaces` chooses them."""
    wanted = [n.strip() for n in (settings.ice_interfaces or "").split(",") if n.strip()]
    found: list[IPAddress] = []
    for iface in interfaces:
        if wanted:
            if iface.name not in wanted:
                continue
        elif not iface.up:
            continue
        found += [a for a in iface.addresses if _usable(a)]
    unknown = sorted(set(wanted) - {i.name for i in interfaces})
    if unknown:
        raise ValueError(f"ice_interfaces names {', '.join(unknown)}, which this host does not have; known "
                         "interfaces: " + ", ".join(i.name for i in interfaces))
    if settings.public_ip:
        found.append(ipaddress.ip_address(settings.public_ip))
    return list(dict.fromkeys(found))


def parse_peer(value: str) -> IPNetwork:
    """`10.1.2.3` or `10.1.0.0/16` from turn_peer_ips; a clear error for anything else."""
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as e:
        raise ValueError(f"turn_peer_ips: {value!r} is not an address or a network (CIDR): {e}") from e
    if net.network_address.is_loopback or net.network_address.is_unspecified or net.prefixlen == 0:
        raise ValueError(f"turn_peer_ips: {value!r} would open the relay to loopback or everything")
    return net


def allowed_peers(settings: Settings, interfaces: list[Interface]) -> list[IPNetwork]:
    nets = [ipaddress.ip_network(a) for a in media_addresses(settings, interfaces)]
    nets += [parse_peer(v) for v in settings.turn_peer_ips]
    return list(dict.fromkeys(nets))


def coturn_range(net: IPNetwork) -> str:
    """coturn's `allowed-peer-ip` syntax: one address or `first-last`."""
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"
