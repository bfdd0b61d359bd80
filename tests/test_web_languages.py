"""Pages in the readers' language: an edition's own pages (its sign-up, its unsubscribe
link, the confirmation mail and page, its web version) speak the edition's language
and say so in ``<html lang>``; the others speak ``[web] language``; the desk stays
English. In process through Starlette's client, on the shipped config plus a Spanish
edition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.links import unsubscribe_url
from digest.models import Edition, Section
from digest.rendering.outputs import write_web_version
from digest.settings.config import load_settings
from digest.web.app import create_app
from tests.conftest import FIXED_NOW
from tests.test_rendering import _story

SPANISH = """
[[editions]]
name = "manana"
title = "Resumen de la mañana"
language = "es"
schedule = { cron = "0 7 * * *", timezone = "Europe/Madrid" }

[[editions.sections]]
name = "Deportes"
keywords = { es = ["fútbol", "liga"], en = ["football"] }
"""
ANA = "ana.lopez@mail.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LANG = re.compile(r'<html lang="([^"]+)"')


def components_for(project: Path, web_language: str | None = None) -> Components:
    text = project.read_text() + SPANISH
    if web_language:
        text = text.replace("[web]\n", f'[web]\nlanguage = "{web_language}"\n', 1)
    project.write_text(text)
    settings = load_settings(project, {"DIGEST_SECRET_KEY": "language-test-" + "k" * 32})
    c = build_components(settings, clock=lambda: FIXED_NOW, transport=MemoryTransport())
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    return c


@pytest.fixture
def components(project: Path) -> Iterator[Components]:
    c = components_for(project)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(components: Components) -> Iterator[TestClient]:
    with TestClient(create_app(components), follow_redirects=False) as client:
        yield client


def lang(html: str) -> str:
    found = LANG.search(html)
    assert found, html[:200]
    return found.group(1)


def test_an_editions_sign_up_speaks_its_language(client: TestClient) -> None:
    page = client.get("/signup/manana")
    assert lang(page.text) == "es"
    assert "<h1>Suscribirse</h1>" in page.text and "Correo electrónico" in page.text
    assert "Recibe Resumen de la mañana por correo" in page.text
    english = client.get("/signup")
    assert lang(english.text) == "en" and "<h1>Sign up</h1>" in english.text
    missing = client.get("/signup/nowhere")
    assert missing.status_code == 404 and lang(missing.text) == "en"


def test_the_confirmation_mail_and_page_speak_the_editions_language(
    client: TestClient, components: Components
) -> None:
    page = client.get("/signup/manana")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    sent = client.post(
        "/signup/manana", data={"email": "nuevo@mail.example", "csrf_token": csrf.group(1)}
    )
    assert sent.status_code == 200 and "Revisa tu bandeja de entrada" in sent.text
    mail = components.transport.sent[-1]  # type: ignore[attr-defined]
    assert mail.subject == f"Confirma tu suscripción a {components.settings.delivery.from_name}"
    assert "Para confirmarlo, abre este enlace" in mail.text
    assert "de noviembre de 2026, " in mail.text  # the link's deadline, in Spanish
    assert lang(mail.html) == "es"
    token = re.search(r"/signup/confirm/([A-Za-z0-9_.-]+)", mail.text)
    assert token is not None
    confirm = client.get(f"/signup/confirm/{token.group(1)}")
    assert lang(confirm.text) == "es" and "Confirma tu suscripción" in confirm.text


def test_an_editions_unsubscribe_link_speaks_its_language(
    client: TestClient, components: Components
) -> None:
    url = unsubscribe_url("", components.signing_key(), ANA, "manana")
    asked = client.get(url)
    assert lang(asked.text) == "es"
    assert "¿Dejar de enviar Resumen de la mañana a <b>ana.lopez@mail.example</b>?" in asked.text
    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert "<h1>Baja confirmada</h1>" in done.text
    everything = client.get(unsubscribe_url("", components.signing_key(), ANA))
    assert lang(everything.text) == "en" and "<h1>Unsubscribe</h1>" in everything.text


def test_pages_of_no_edition_speak_the_web_language(project: Path) -> None:
    c = components_for(project, web_language="pt-BR")
    try:
        with TestClient(create_app(c), follow_redirects=False) as client:
            signup = client.get("/signup")
            assert lang(signup.text) == "pt-BR" and "<h1>Inscrever-se</h1>" in signup.text
            archive = client.get("/editions")
            assert lang(archive.text) == "pt-BR" and "<h1>Arquivo</h1>" in archive.text
            bad = client.get("/preferences/not-a-token")
            assert bad.status_code == 404 and "Link inválido" in bad.text
            assert lang(client.get("/signup/manana").text) == "es"
            desk = client.get("/desk/login")
            assert lang(desk.text) == "en"  # the desk stays English
    finally:
        c.close()


def test_the_web_version_speaks_its_editions_language(components: Components) -> None:
    edition = Edition(
        name="manana",
        title="Resumen de la mañana",
        subject="Resumen de la mañana — 2026-11-27",
        period="2026-11-27",
        built_at=FIXED_NOW,
        sections=(Section("Deportes", (_story(1), _story(2))),),
        language="es",
    )
    page = write_web_version(components.renderer, components.settings, edition).read_text()
    assert lang(page) == "es"
    assert "viernes, 27 de noviembre de 2026" in page and "Leer en la web" in page
