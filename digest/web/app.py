"""The web app served by ``digest serve``: every route in one table, the shared
state made once on ``app.state.web``, the middleware around it all."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from digest.components import Components
from digest.web import archive, desk, desk_forms, preferences, public, signup, unsubscribe, webhooks
from digest.web.desk_sources import sources_page
from digest.web.desk_subscribers import subscriber_action, subscriber_page, subscribers_page
from digest.web.feeds import atom_feed, json_feed
from digest.web.middleware import BodyLimit, SecurityHeaders
from digest.web.state import make_state

EDITION = "/desk/editions/{id:int}"
ROUTES = [
    Route("/webhooks/sendgrid", webhooks.sendgrid_events, methods=["POST"]),
    Route("/healthz", webhooks.healthz),
    Route("/unsubscribe/{token}", unsubscribe.unsubscribe, methods=["GET", "POST"]),
    # the editor's desk
    Route("/desk/login", desk.login, methods=["GET", "POST"]),
    Route("/desk/logout", desk.logout, methods=["POST"]),
    Route("/desk", desk.editions),
    Route("/desk/sources", sources_page),
    Route("/desk/subscribers", subscribers_page),
    Route("/desk/subscribers/{id}", subscriber_page),
    Route("/desk/subscribers/{id}/{action}", subscriber_action, methods=["POST"]),
    Route(EDITION, desk.edition),
    Route(f"{EDITION}/preview", desk.preview),
    Route(EDITION + "/email.{part:str}", desk.email),
    Route(EDITION + "/stories/{story:str}", desk_forms.story_action, methods=["POST"]),
    Route(f"{EDITION}/approve", desk_forms.approve, methods=["POST"]),
    Route(f"{EDITION}/reopen", desk_forms.reopen, methods=["POST"]),
    Route(f"{EDITION}/rebuild", desk_forms.rebuild, methods=["POST"]),
    Route(f"{EDITION}/test", desk_forms.send_test, methods=["POST"]),
    # the subscriber pages
    Route("/preferences", public.no_token),
    Route("/unsubscribe", public.no_token),
    Route("/preferences/{token}", preferences.preferences, methods=["GET", "POST"]),
    Route("/signup", signup.signup, methods=["GET", "POST"]),
    Route("/signup/confirm/{token}", signup.confirm_signup, methods=["GET", "POST"]),
    # After /signup/confirm/...: "confirm" is a reserved edition name anyway.
    Route("/signup/{edition}", signup.signup, methods=["GET", "POST"]),
    Route("/editions", archive.archive),
    Route("/editions/{name}/feed.xml", atom_feed),
    Route("/editions/{name}/feed.json", json_feed),
    Route("/editions/{name}/{period}", archive.web_version),
]


def create_app(c: Components) -> ASGIApp:
    """The app, on components built once at start-up from the settings."""
    app = Starlette(routes=ROUTES)
    app.state.web = make_state(c)
    return SecurityHeaders(BodyLimit(app), hsts=c.settings.web.base_url.startswith("https://"))
