"""The composition root: builds the configured parts from :class:`Settings`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from digest.audience.csv_list import load_subscribers
from digest.delivery.outbox import OutboxTransport
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.transport import MemoryTransport, Transport
from digest.errors import ConfigError
from digest.language.catalogues import Messages, messages
from digest.models import Subscriber
from digest.rendering.renderer import Renderer
from digest.settings.config import Settings
from digest.settings.sources import FetchingSettings, SourceSettings
from digest.sources.feed import FeedSource
from digest.sources.folder import FolderSource
from digest.sources.http import Fetcher, FetchPolicy, Resolver, make_client, resolve
from digest.sources.page import PageSource
from digest.sources.source import Source
from digest.store.cache import DatabaseSummaryCache
from digest.store.database import Store, open_store
from digest.store.leases import new_holder
from digest.summarise.llm import LLMSummariser
from digest.tokens import signing_key


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Components:
    settings: Settings
    store: Store
    renderer: Renderer
    transport: Transport
    client: httpx.Client
    clock: Callable[[], datetime] = utcnow  # the pipeline's now (`digest run --now` sets it)
    sleep: Callable[[float], None] = time.sleep
    sources: list[Source] = field(default_factory=list)
    # Who this process is, for leases; set when a shutdown was asked for.
    holder: str = field(default_factory=new_holder)
    # Leases between processes run on the real time, whatever ``clock`` says.
    wall_clock: Callable[[], datetime] = utcnow
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def delivery_policy(self) -> DeliveryPolicy:
        delivery = self.settings.delivery
        return DeliveryPolicy(
            batch_size=delivery.batch_size,
            max_attempts=delivery.max_attempts,
            max_per_second=delivery.max_per_second,
            schedule_ahead=timedelta(minutes=delivery.sendgrid.min_lead_minutes),
        )

    def llm_summariser(self) -> LLMSummariser | None:
        """A fresh LLM summariser (its token budget is per edition), when configured."""
        summaries = self.settings.summaries
        if summaries.mode != "llm" or summaries.llm is None:
            return None
        llm = summaries.llm
        return LLMSummariser(
            client=self.client,
            url=llm.url,
            model=llm.model,
            api_key=llm.api_key.get_secret_value() if llm.api_key else None,
            cache=DatabaseSummaryCache(self.store.engine, self.clock),
            max_tokens_per_edition=llm.max_tokens_per_edition,
            max_answer_tokens=llm.max_answer_tokens,
            timeout_seconds=llm.timeout_seconds,
        )

    def messages(self, language: str) -> Messages:
        """The words and date formats of ``language`` (a BCP 47 tag), the deployment's
        catalogue first."""
        return messages(language, self.settings.locales_dir)

    def subscribers(self) -> list[Subscriber]:
        return load_subscribers(self.settings.subscribers.file)

    def signing_key(self) -> bytes:
        """``$DIGEST_SECRET_KEY``, else a random key kept in ``var/secret_key``."""
        secret = self.settings.web.secret_key
        return signing_key(secret.get_secret_value() if secret else None, self.settings.var_dir)

    def close(self) -> None:
        self.client.close()
        self.store.close()


def build_source(
    config: SourceSettings, fetcher: Fetcher, clock: Callable[[], datetime] = utcnow
) -> Source:
    if config.kind == "folder":
        assert config.path is not None
        return FolderSource(
            config.name,
            config.path,
            topic=config.topic,
            limit=config.limit,
            language=config.language,
        )
    if config.kind == "page":
        assert config.url is not None
        return PageSource(
            config.name,
            config.url,
            fetcher,
            topic=config.topic,
            local=config.local,
            language=config.language,
        )
    return FeedSource(
        config.name,
        url=config.url,
        path=config.path,
        fetcher=fetcher,
        topic=config.topic,
        limit=config.limit,
        local=config.local,
        full_text=config.full_text,
        language=config.language,
        clock=clock,
    )


def build_fetcher(
    fetching: FetchingSettings, client: httpx.Client, resolver: Resolver = resolve
) -> Fetcher:
    """The Fetcher every source (and a feed list imported from a URL) goes through."""
    return Fetcher(
        client,
        FetchPolicy(
            per_host=fetching.per_host,
            per_host_delay=fetching.per_host_delay_seconds,
            retries=fetching.retries,
            max_bytes=fetching.max_bytes,
        ),
        resolver=resolver,
    )


def build_renderer(settings: Settings) -> Renderer:
    return Renderer(
        settings.templates_dir,
        base_url=settings.web.base_url,
        postal_address=settings.web.postal_address,
        locales_dir=settings.locales_dir,
    )


def build_transport(settings: Settings, clock: Callable[[], datetime]) -> Transport:
    delivery = settings.delivery
    if delivery.transport == "memory":
        return MemoryTransport()
    if delivery.transport == "sendgrid":
        from digest.delivery.sendgrid import SendGridTransport, sendgrid_client

        key = delivery.sendgrid.api_key
        if key is None:
            raise ConfigError(
                "transport 'sendgrid' needs $SENDGRID_API_KEY", field="delivery.transport"
            )
        sendgrid = delivery.sendgrid
        client = sendgrid_client(key.get_secret_value(), sendgrid.api_url, sendgrid.timeout_seconds)
        return SendGridTransport(
            client,
            from_email=delivery.from_email,
            from_name=delivery.from_name,
            reply_to=delivery.reply_to,
            sandbox_mode=delivery.sendgrid.sandbox_mode,
            categories=delivery.sendgrid.categories,
            asm_group_id=delivery.sendgrid.asm_group_id,
        )
    if delivery.transport == "smtp" and delivery.smtp is not None:
        from digest.delivery.mime import Sender
        from digest.delivery.smtp import SmtpTransport

        return SmtpTransport(
            delivery.smtp,
            Sender(delivery.from_email, delivery.from_name, delivery.reply_to),
            clock=clock,
            max_per_second=delivery.max_per_second,
        )
    return OutboxTransport(
        delivery.outbox_dir,
        from_email=delivery.from_email,
        from_name=delivery.from_name,
        reply_to=delivery.reply_to,
        clock=clock,
    )


def build_components(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
    client: httpx.Client | None = None,
    resolver: Resolver = resolve,
) -> Components:
    """The configured parts; ``transport``, ``client`` and ``resolver`` (the name
    look-up behind the address checks) replace the configured ones."""
    client = client or make_client(settings.fetching.timeout_seconds)
    fetcher = build_fetcher(settings.fetching, client, resolver)
    return Components(
        settings=settings,
        store=open_store(settings.storage.url),
        renderer=build_renderer(settings),
        transport=transport or build_transport(settings, clock),
        client=client,
        clock=clock,
        sleep=sleep,
        sources=[build_source(s, fetcher, clock) for s in settings.sources if s.enabled],
    )
