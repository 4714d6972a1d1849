"""Werkzeug's ProxyFix for the requests that come from the proxy in front (FORWARDED_ALLOW_IPS)."""

import ipaddress
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.middleware.proxy_fix import ProxyFix


class ProxyFixFromProxies:
    """ProxyFix for requests whose peer is one of the proxies; every other request as it came.

    ProxyFix believes X-Forwarded-* from whoever connects; a client that reaches the server
    directly could name any address. With x_for=1 it takes the right-most address of
    X-Forwarded-For, the one the proxy vouches for, and x_proto=1 the scheme of X-Forwarded-Proto.
    It sets REMOTE_ADDR in the server's environ itself, so gunicorn's access log shows the client.
    """

    def __init__(self, app: WSGIApplication, proxies: Iterable[str]) -> None:
        self.app = app
        self.proxy_fix = ProxyFix(app, x_for=1, x_proto=1)
        self.proxies = frozenset(proxies)
        for address in self.proxies:
            # gunicorn would also take "*" and networks, which are not compared here.
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(
                    f"FORWARDED_ALLOW_IPS lists the proxy's addresses one by one: {address!r} is "
                    "not an IP address ('*' and networks are not accepted)."
                ) from None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") in self.proxies:
            return self.proxy_fix(environ, start_response)
        return self.app(environ, start_response)
