"""GET/POST /app/signin and POST /app/signout: the session cookie for the HR app."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from attrition.api.hrapp import security
from attrition.api.hrapp.render import api_key, page

router = APIRouter(prefix="/app", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path inside the app: never a redirect to another site."""
    if not target:
        return "/app/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/app"):
        return "/app/"
    return target


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page (straight to the app when no key is configured)."""
    if security.signed_in(request, api_key(request)):
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(
        request, "signin.html.j2", {"title": "Sign in", "next": _safe_next(next), "error": None}
    )


@router.post("/signin")
def signin(
    request: Request,
    key: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/app/",
) -> Response:
    """Check the entered key; on success set the session cookie and go on."""
    security.check_csrf(request, csrf_token)
    expected = api_key(request)
    target = _safe_next(next)
    if expected and not security.key_matches(expected, key):
        context = {"title": "Sign in", "next": target, "error": "That key is not right. Try again."}
        return page(request, "signin.html.j2", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    if expected:
        security.set_session(response, request, expected)
    return response


@router.post("/signout")
def signout(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Forget the session."""
    security.check_csrf(request, csrf_token)
    response = RedirectResponse("/app/signin", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path=security.PREFIX)
    return response
