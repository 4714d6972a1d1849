"""Every error as RFC 9457 problem details: DRF's exception handler and Django's error views."""

import json
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, JsonResponse
from django.utils.log import log_response
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from django_books.books.exceptions import (
    CatalogFault,
    InvalidQueryParameters,
    ServiceUnavailable,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Each status's RFC 9110 reason phrase (http.HTTPStatus's changed in Python 3.13) and the OpenAPI
# description of its problem: data the three packages share, as they share the seed.
PROBLEMS: dict[str, dict[str, str]] = json.loads(
    (settings.BASE_DIR / "shared_fixtures" / "problems.json").read_text(encoding="utf-8")
)
REASON_PHRASES = {int(status): problem["title"] for status, problem in PROBLEMS.items()}
PROBLEM_DESCRIPTIONS = {
    int(status): problem["description"]
    for status, problem in PROBLEMS.items()
    if "description" in problem
}
INVALID_INPUT_DETAILS = {
    "body": "The body is invalid.",
    "query": "The query parameters are invalid.",
}


def problem(status_code: int, detail: str, **extra: Any) -> dict[str, Any]:
    title = REASON_PHRASES[status_code]
    return {"type": "about:blank", "title": title, "status": status_code, "detail": detail, **extra}


def validation_errors(detail: Any, location: str) -> list[dict[str, Any]]:
    """One entry per invalid field of a ValidationError; DRF's non_field_errors get field null."""
    if not isinstance(detail, dict):
        detail = {api_settings.NON_FIELD_ERRORS_KEY: detail}
    errors = []
    for field, messages in detail.items():
        texts = [messages] if isinstance(messages, str) else messages
        errors.append(
            {
                "location": location,
                "field": None if field == api_settings.NON_FIELD_ERRORS_KEY else field,
                "message": " ".join(str(text) for text in texts),
            }
        )
    return errors


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, reshaped into problem details; 422 and 503 as the contract says."""
    if isinstance(exc, OperationalError):
        exc = ServiceUnavailable()
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's handler500 answers
    if isinstance(exc, ValidationError):
        location = "query" if isinstance(exc, InvalidQueryParameters) else "body"
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        response.data = problem(
            response.status_code,
            INVALID_INPUT_DETAILS[location],
            errors=validation_errors(exc.detail, location),
        )
    else:
        response.data = problem(response.status_code, str(response.data["detail"]))
    response.content_type = PROBLEM_CONTENT_TYPE
    if isinstance(exc, CatalogFault):
        # One WARNING line that names the fault, in place of the ERROR line Django writes for
        # every 5xx: the upstream's fault is not the server's.
        log_response(
            "%s: %s (the catalog: %s)",
            response.reason_phrase,
            context["request"].path,
            exc.reason,
            response=response,
            request=context["request"],
            level="warning",
        )
    return response


def problem_response(status_code: int, detail: str) -> JsonResponse:
    return JsonResponse(
        problem(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )


# Django's error views (urls.py's handler400 to handler500, settings' CSRF_FAILURE_VIEW), for the
# requests that never reach DRF: Django's own answers are HTML pages.


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """For requests Django itself refuses, such as one with a disallowed Host."""
    return problem_response(status.HTTP_400_BAD_REQUEST, "The request is malformed.")


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    """For the admin's pages a signed-in user may not see."""
    return problem_response(status.HTTP_403_FORBIDDEN, "You may not do this.")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """For an admin form posted without its CSRF token or cookie."""
    detail = "The form's CSRF check failed; reload the page and send it again."
    return problem_response(status.HTTP_403_FORBIDDEN, detail)


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return problem_response(status.HTTP_404_NOT_FOUND, "There is nothing at this path.")


def server_error(request: HttpRequest) -> JsonResponse:
    return problem_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "An unexpected error occurred.")
