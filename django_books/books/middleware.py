"""Middleware of the books app."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class HeadWithoutBodyMiddleware:
    """Send HEAD responses without a body.

    Django answers HEAD with GET's full response and leaves dropping the body to the server
    (gunicorn and runserver do); an app called in-process through WSGI would send it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            response.content = b""
        return response
