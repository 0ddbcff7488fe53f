"""Rendering the app's pages: its own Jinja2 templates and the helpers every route shares."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from attrition.api.hrapp import security, views
from attrition.reports.format import FILTERS, stamp

NAV = (("/app/", "Overview"), ("/app/model", "Model"), ("/app/trends", "Trends"))


@cache
def environment() -> Environment:
    """Templates of `api/hrapp/templates/`, autoescaped, with number filters for people."""
    env = Environment(
        loader=PackageLoader("attrition.api.hrapp", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(
        {
            "pct": views.percent,
            "points": views.points,
            "leavers": views.leavers,
            "signed": views.signed,
            "label": views.label,
            "when": lambda moment: stamp(moment) if moment else "",
            "urlencode_query": lambda params: urlencode(params),
        }
    )
    return env


def api_key(request: Request) -> str | None:
    """The configured API key (None: the app is open)."""
    key: str | None = request.app.state.serving.settings.api_key
    return key


def sign_in_redirect(request: Request) -> Response | None:
    """A redirect to the sign-in page when the request may not see the app, else None."""
    if security.signed_in(request, api_key(request)):
        return None
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/app/signin?next={quote(target, safe='')}", status_code=303)


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render one page with what every page needs (CSRF token, navigation, sign-out)."""
    token = security.csrf_token(request)
    body = (
        environment()
        .get_template(template)
        .render(
            {
                "csrf": token,
                "nav": NAV,
                "path": request.url.path,
                "can_sign_out": bool(api_key(request)),
                "labels": request.app.state.hr.config.labels,
                **context,
            }
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    security.remember_csrf(request, response)
    return response


def message(request: Request, title: str, text: str, status_code: int) -> Response:
    """A page that only says something (not found, no model yet, ...)."""
    return page(request, "message.html.j2", {"title": title, "text": text}, status_code)
