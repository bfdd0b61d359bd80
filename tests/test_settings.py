"""Settings: the shipped config, errors that name file and field, secrets, paths, env."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from digest.errors import ConfigError
from digest.settings.config import DEFAULT_CONFIG, Settings, config_path, load_settings

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config" / "digest.toml"
SHIPPED_TEXT = SHIPPED.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "digest.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _edit(old: str, new: str, count: int = 1) -> str:
    assert old in SHIPPED_TEXT, old
    return SHIPPED_TEXT.replace(old, new, count)


def _config_error(path: Path, environ: Mapping[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ or {})
    error = info.value
    assert error.exit_code == 2
    assert str(path) in str(error)
    return error


# --- the shipped config ---------------------------------------------------------------


def test_shipped_config_loads() -> None:
    settings = load_settings(SHIPPED, {})
    assert isinstance(settings, Settings)
    assert settings.config_path == SHIPPED
    assert settings.delivery.transport == "outbox"
    assert settings.delivery.from_email == "digest@news.example"
    assert [s.name for s in settings.sources] == [
        "The Harbour Times",
        "Northern Ledger",
        "Civic Wire",
        "Saved articles",
    ]
    morning = settings.edition(None)
    assert morning.name == "morning"
    assert morning.schedule.timezone == "Europe/Madrid"
    assert [s.name for s in morning.sections] == [
        "World",
        "Politics",
        "Business",
        "Technology",
        "Science & Health",
        "Sport",
        "Culture",
    ]
    assert settings.delivery.sendgrid.api_key is None
    assert settings.web.secret_key is None


def test_settings_are_frozen() -> None:
    settings = load_settings(SHIPPED, {})
    with pytest.raises(ValidationError):
        settings.name = "changed"  # type: ignore[misc]


def test_edition_by_name() -> None:
    settings = load_settings(SHIPPED, {})
    assert settings.edition("morning").title == "The Morning Digest"
    with pytest.raises(ConfigError, match=r"no edition named 'evening'.*morning"):
        settings.edition("evening")


def test_relative_paths_are_relative_to_the_config_file(project: Path) -> None:
    settings = load_settings(project, {})
    root = project.parent.parent.resolve()
    assert settings.var_dir == root / "var"
    assert settings.templates_dir == root / "templates"
    assert settings.subscribers.file == root / "config" / "subscribers.csv"
    assert settings.delivery.outbox_dir == root / "outbox"
    assert settings.storage.url == f"sqlite:///{root / 'var' / 'digest.db'}"
    assert settings.sources[0].path == root / "samples" / "feeds" / "harbour-times.xml"
    assert settings.sources[0].path.is_file()
    assert settings.subscribers.file.is_file()


def test_relative_paths_do_not_depend_on_the_working_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(project, {})
    assert settings.var_dir == tmp_path.resolve() / "var"


# --- errors name the file and the field ---------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "bogus = 1\n" + SHIPPED_TEXT)
    error = _config_error(path)
    assert error.field == "bogus"
    assert "bogus: unknown key" in str(error)


def test_unknown_nested_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _edit('title = "The Morning Digest"\n', 'title = "The Morning Digest"\nbogus = 1\n'),
    )
    error = _config_error(path)
    assert error.field == "editions[0].bogus"
    assert "editions[0].bogus: unknown key" in str(error)


def test_unknown_key_in_a_section(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('name = "World"\n', 'name = "World"\ncolour = "blue"\n'))
    error = _config_error(path)
    assert error.field == "editions[0].sections[0].colour"


def test_nested_error_does_not_claim_editions_are_missing(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _edit('title = "The Morning Digest"\n', 'title = "The Morning Digest"\nbogus = 1\n'),
    )
    error = _config_error(path)
    assert "at least 1 item" not in str(error)


def test_bad_cron(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('cron = "0 7 * * *"', 'cron = "61 7 * * *"'))
    error = _config_error(path)
    assert error.field == "editions[0].schedule"
    assert "bad cron expression '61 7 * * *'" in str(error)


def test_bad_timezone(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('timezone = "Europe/Madrid"', 'timezone = "Mars/Olympus"'))
    error = _config_error(path)
    assert error.field == "editions[0].schedule.timezone"
    assert "'Mars/Olympus' is not an IANA time zone" in str(error)


def test_bad_from_email(tmp_path: Path) -> None:
    path = _write(
        tmp_path, _edit('from_email = "digest@news.example"', 'from_email = "digest-at-news"')
    )
    error = _config_error(path)
    assert error.field == "delivery.from_email"
    assert "'digest-at-news' is not a valid email address" in str(error)


def test_duplicate_source_names(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('name = "Northern Ledger"', 'name = "The Harbour Times"'))
    error = _config_error(path)
    assert "sources: duplicate name(s) The Harbour Times" in str(error)


def test_duplicate_edition_names(tmp_path: Path) -> None:
    path = _write(tmp_path, SHIPPED_TEXT + '\n[[editions]]\nname = "morning"\ntitle = "Again"\n')
    error = _config_error(path)
    assert "editions: duplicate name(s) morning" in str(error)


def test_source_weight_defaults_to_one_and_is_bounded(tmp_path: Path) -> None:
    assert {s.weight for s in load_settings(SHIPPED, {}).sources} == {1.0}
    civic = 'name = "Civic Wire"\nkind = "feed"\n'
    weighted = load_settings(_write(tmp_path, _edit(civic, civic + "weight = 2.5\n")), {})
    assert weighted.sources[2].weight == 2.5
    for bad in ("0", "-1", "11"):
        error = _config_error(_write(tmp_path, _edit(civic, civic + f"weight = {bad}\n")))
        assert error.field == "sources[2].weight"


def test_a_sources_site_is_an_http_url(tmp_path: Path) -> None:
    civic = 'name = "Civic Wire"\nkind = "feed"\n'
    good = 'site = "https://civic.example/"\n'
    assert load_settings(_write(tmp_path, _edit(civic, civic + good)), {}).sources[2].site == (
        "https://civic.example/"
    )
    for bad in ("civic.example", "javascript:alert(1)", "https://civic.example/a b"):
        error = _config_error(_write(tmp_path, _edit(civic, civic + f'site = "{bad}"\n')))
        assert error.field == "sources[2].site"
        assert "is not an http(s) URL (the feed's web site)" in str(error)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    error = _config_error(tmp_path / "nowhere.toml")
    assert "not found" in str(error)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    error = _config_error(_write(tmp_path, "name = [unclosed\n"))
    assert "not valid TOML" in str(error)


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "env"),
    [
        (
            "sandbox_mode = false",
            'sandbox_mode = false\napi_key = "SG.in-the-file"',
            "delivery.sendgrid.api_key",
            "SENDGRID_API_KEY",
        ),
        (
            "[web]\n",
            '[web]\nsecret_key = "SG.in-the-file"\n',
            "web.secret_key",
            "DIGEST_SECRET_KEY",
        ),
    ],
    ids=["sendgrid-api-key", "web-secret-key"],
)
def test_secret_in_config_file_is_rejected(
    tmp_path: Path, old: str, new: str, field: str, env: str
) -> None:
    error = _config_error(_write(tmp_path, _edit(old, new)))
    assert error.field == field
    assert f"field {field}" in str(error)
    assert f"${env}" in str(error)
    assert "SG.in-the-file" not in str(error)


def test_secret_in_file_rejected_even_when_the_environment_has_it(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit("sandbox_mode = false", 'sandbox_mode = false\napi_key = "x"'))
    error = _config_error(path, {"SENDGRID_API_KEY": "SG.from-env"})
    assert error.field == "delivery.sendgrid.api_key"


def test_sendgrid_transport_needs_the_key_in_the_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, _edit('transport = "outbox"', 'transport = "sendgrid"'))
    for environ in ({}, {"SENDGRID_API_KEY": ""}):
        error = _config_error(path, environ)
        assert error.field == "delivery.transport"
        assert "SENDGRID_API_KEY" in str(error)
    settings = load_settings(path, {"SENDGRID_API_KEY": "SG.test-key"})
    assert settings.delivery.transport == "sendgrid"
    assert settings.delivery.sendgrid.api_key is not None
    assert settings.delivery.sendgrid.api_key.get_secret_value() == "SG.test-key"


def test_secrets_are_masked() -> None:
    environ = {
        "SENDGRID_API_KEY": "SG.very-secret",
        "DIGEST_SECRET_KEY": "hmac-very-secret-" + "k" * 32,
    }
    settings = load_settings(SHIPPED, environ)
    assert settings.web.secret_key is not None
    assert settings.web.secret_key.get_secret_value() == "hmac-very-secret-" + "k" * 32
    masked = settings.masked()
    dumped = json.dumps(masked)
    assert "very-secret" not in dumped
    assert "very-secret" not in repr(settings)
    assert set(masked["delivery"]["sendgrid"]["api_key"]) == {"*"}
    assert set(masked["web"]["secret_key"]) == {"*"}
    assert masked["delivery"]["from_email"] == "digest@news.example"


# --- environment ---------------------------------------------------------------------------


def test_config_path_prefers_the_explicit_option(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit.toml"
    assert config_path(explicit, {"DIGEST_CONFIG": "/env/digest.toml"}) == explicit
    assert config_path(str(explicit), {}) == explicit


def test_config_path_uses_digest_config() -> None:
    assert config_path(None, {"DIGEST_CONFIG": "/env/digest.toml"}) == Path("/env/digest.toml")


@pytest.mark.parametrize("environ", [{}, {"DIGEST_CONFIG": ""}])
def test_config_path_default(environ: dict[str, str]) -> None:
    assert config_path(None, environ) == DEFAULT_CONFIG
    assert config_path("", environ) == DEFAULT_CONFIG


def test_database_url_from_environment_overrides_the_file() -> None:
    url = "postgresql://digest@db.internal/digest"
    settings = load_settings(SHIPPED, {"DIGEST_DATABASE_URL": url})
    assert settings.storage.url == url


def test_database_url_without_scheme_is_rejected(tmp_path: Path) -> None:
    error = _config_error(_write(tmp_path, SHIPPED_TEXT), {"DIGEST_DATABASE_URL": "var/digest.db"})
    assert error.field == "storage.url"


def test_the_tuned_settings_default_to_what_the_stages_use_alone() -> None:
    """`make eval` chooses [stories] and [summaries] values; their defaults must be
    the stages' own, or a config without the tables would build something else."""
    from digest.settings.services import StoriesSettings, SummariesSettings
    from digest.stories import grouping
    from digest.summarise import extractive

    assert StoriesSettings().merge_threshold == grouping.DEFAULT_THRESHOLD
    assert StoriesSettings().rarity_power == grouping.RARITY_POWER
    assert SummariesSettings().redundancy == extractive.MAX_COVERED
    assert SummariesSettings().lead_weight == extractive.LEAD_WEIGHT
