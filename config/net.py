"""Where a request comes from: the one answer used by login lock-out, rate limits and the access log.

``CLINICFLOW_TRUSTED_PROXIES`` says what stands in front of the app:

- ``0`` (the default): nothing. The peer's address (``REMOTE_ADDR``) is the client; any
  X-Forwarded-For header is the client's own word and is ignored.
- a number ``N``: exactly N proxies of ours, each appending the address it saw to X-Forwarded-For.
  The client is the address N hops back from the peer; whatever the client put further left is
  forged and never read.
- a list of networks (``10.0.0.0/8, 192.168.1.7``): our proxies' addresses. Only a peer in that
  list may speak for someone else; walking X-Forwarded-For from the right, the first address that
  is not one of our proxies is the client. A client connecting directly is its own address, whatever
  header it sends.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _trusted(value: str) -> int | tuple[Network, ...]:
    value = (value or "0").strip()
    if value.isdigit():
        return int(value)
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def _address(value: str | None) -> Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as far as our own proxies vouch for it; None if the peer's is unusable."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    trusted = _trusted(str(settings.CLINICFLOW_TRUSTED_PROXIES))
    forwarded = [_address(part) for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Nearest first: the peer, then what each proxy before it saw. A proxy's entry is only as good
    # as the proxy: we stop at the first address none of ours vouches for.
    chain = [peer, *reversed(forwarded)] if request.META.get("HTTP_X_FORWARDED_FOR") else [peer]
    if isinstance(trusted, int):
        hops = chain[: trusted + 1]
        client = hops[-1]
        if client is None:  # a proxy of ours passed on garbage: the nearest good address is all we know
            client = next((a for a in reversed(hops) if a is not None), peer)
        return str(client)
    for address in chain:
        if address is None or not any(address in network for network in trusted):
            return str(address) if address is not None else str(peer)
    return str(chain[-1])
