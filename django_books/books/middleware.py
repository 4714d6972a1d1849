"""Middleware of the books app."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

GetResponse = Callable[[HttpRequest], HttpResponse]


class HeadWithoutBodyMiddleware:
    """Send HEAD responses without a body.

    Django answers HEAD with GET's full response and leaves dropping the body to the server
    (gunicorn and runserver do); an app called in-process through WSGI would send it.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            response.content = b""
        return response


def client_address_from_proxy(get_response: GetResponse) -> GetResponse:
    """Take a request from a proxy of FORWARDED_ALLOW_IPS as coming from the client it names.

    The proxy puts the address it saw last in X-Forwarded-For, after whatever the client sent if
    it passes that on: the right-most address is the one it vouches for. request.META is the
    server's WSGI environ, so gunicorn's access log shows the client's address too.
    """
    proxies = frozenset(settings.FORWARDED_ALLOW_IPS)
    if not proxies:
        raise MiddlewareNotUsed

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.META.get("REMOTE_ADDR") in proxies:
            forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
            if client := forwarded_for.rsplit(",", 1)[-1].strip():
                request.META["REMOTE_ADDR"] = client
        return get_response(request)

    return middleware
