"""Outbound HTTP to user-supplied URLs: the SSRF guard and the client every outbound call uses.

A user-supplied URL is checked when it is saved (syntax, literal addresses, what its name resolves to now)
and again on every send: the name is resolved, every address is checked, and the request goes to the
checked address itself (Host header and TLS server name kept), so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from visitorhub import __version__

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that cloud providers answer with instance metadata, whatever they resolve to.
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
MAX_URL_LENGTH = 2000


USER_AGENT = f"visitorhub/{__version__}"  # on every outbound request (streams, connectors)


class UnsafeTarget(ValueError):
    """A URL that may not be called: malformed, or reaching a private, loopback or link-local address."""


@dataclass(frozen=True)
class Target:
    """A URL split into what the request needs, with the address it may connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress | None = None

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (the Host header keeps the name)."""
        if self.address is None:
            return self.url
        parts = urlsplit(self.url)
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{ip}:{parts.port}" if parts.port else ip
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Syntax only: http(s), a host, no credentials in the URL, a sane length."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"'{url}' is not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"The URL must start with http:// or https://, not '{url}'.")
    if not parts.hostname:
        raise UnsafeTarget(f"The URL '{url}' has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Credentials do not belong in the URL; use the auth settings.")
    if parts.fragment:
        raise UnsafeTarget("The URL may not have a #fragment.")
    default = 443 if parts.scheme == "https" else 80
    return Target(url=url, scheme=parts.scheme, host=parts.hostname.lower(), port=port or default)


def is_public(address: IPAddress) -> bool:
    """Only globally routable unicast addresses: no private, loopback, link-local (cloud metadata
    169.254.169.254 included), shared, reserved, multicast or unspecified ones, in IPv4-mapped form too."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to now (an IP literal resolves to itself)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, IPAddress] = {}
    for info in infos:
        raw = str(info[4][0]).split("%")[0]  # drop an IPv6 zone id
        seen.setdefault(raw, ipaddress.ip_address(raw))
    return list(seen.values())


def _refuse(target: Target, address: IPAddress | None) -> UnsafeTarget:
    where = f"{target.host} ({address})" if address and str(address) != target.host else target.host
    return UnsafeTarget(
        f"{where} is a private, loopback, link-local or metadata address; outbound calls there are refused "
        "(set VISITORHUB_ALLOW_PRIVATE_TARGETS=true to allow them)."
    )


def _refuse_private(target: Target, addresses: list[IPAddress]) -> None:
    for address in addresses:
        if not is_public(address):
            raise _refuse(target, address)


def check_url_on_save(url: str, allow_private: bool) -> Target:
    """The check made when a URL is saved. A name that does not resolve yet is accepted (the receiver
    may not be deployed); it is checked again, resolved, on every send."""
    target = parse_target(url)
    if allow_private:
        return target
    if target.host in _METADATA_NAMES or target.host == "localhost" or target.host.endswith(".localhost"):
        raise _refuse(target, None)
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError):
        return target
    _refuse_private(target, addresses)
    return target


def check_url_on_send(url: str, allow_private: bool) -> Target:
    """The check made before every send: resolve, refuse if any address is not public, and pin the
    request to the first address. Raises UnsafeTarget, or OSError when the name does not resolve."""
    target = parse_target(url)
    if not allow_private and target.host in _METADATA_NAMES:
        raise _refuse(target, None)
    addresses = resolve(target.host, target.port)
    if not addresses:
        raise OSError(f"{target.host} resolves to no address")
    if not allow_private:
        _refuse_private(target, addresses)
    return Target(target.url, target.scheme, target.host, target.port, addresses[0])


def make_client(timeout_seconds: float) -> httpx.Client:
    """The client for user-supplied URLs: bounded timeouts, no redirects, no proxy from the environment
    (a proxy would connect on our behalf, past the address check)."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
    return httpx.Client(
        timeout=timeout, follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT}
    )


def send_pinned(
    client: httpx.Client, target: Target, content: bytes, headers: dict[str, str], excerpt_bytes: int
) -> tuple[int, bytes]:
    """POST `content` to a checked target; the status and at most `excerpt_bytes` of the answer's body."""
    request_headers = {**headers, "Host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with client.stream(
        "POST", target.pinned_url, content=content, headers=request_headers, extensions=extensions
    ) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) >= excerpt_bytes:
                break
        return response.status_code, bytes(body[:excerpt_bytes])
