"""Deliver every client's feed (or one client's) for a day: what `nexus feeds deliver` and the feeds asset run."""

from __future__ import annotations

import logging
from datetime import date

import pyarrow.compute as pc
from pydantic import BaseModel

from assets.personas.tables import FEED_DATASETS
from assets.signals.table import SIGNALS, SIGNALS_FEED
from resources.feeds.alerts import FeedFailure, FeedsAlert, failure, raise_alert
from resources.feeds.cadence import due_date
from resources.feeds.clients import Client, get_clients
from resources.feeds.datasets import FeedDataset, register
from resources.feeds.delivery import DeliveryResult, deliver
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import Settings

log = logging.getLogger(__name__)


def register_feed_datasets() -> list[FeedDataset]:
    """Add the signals and every persona output to the deliverable datasets (the marts are there already).

    Called by each delivery path (`deliver_all`, `nexus feeds reproduce`) rather than done as a side effect of
    importing the signal and persona modules. Idempotent.
    """
    return [register(dataset) for dataset in (SIGNALS_FEED, *FEED_DATASETS.values())]


def feeds_storage(settings: Settings) -> LakeStorage:
    options = settings.aws_storage_options() if settings.feeds_uri.startswith("s3://") else {}
    return LakeStorage(root_uri=settings.feeds_uri, storage_options=options)


def latest_signal_date(lake: LakeStorage) -> date | None:
    """The newest decision day in the signals table: what a delivery without an explicit date means."""
    days = read_table(lake, SIGNALS, columns=["signal_date"])
    return pc.max(days["signal_date"]).as_py() if days.num_rows else None


class FeedsRun(BaseModel):
    """The outcome of one delivery run: every client attempted, each delivered, unchanged or failed."""

    day: date
    run_id: str
    results: list[DeliveryResult]
    failures: list[FeedFailure]

    @property
    def ok(self) -> bool:
        return not self.failures


def deliver_all(
    lake: LakeStorage,
    settings: Settings,
    day: date,
    *,
    run_id: str,
    client_id: str | None = None,
    presign: bool | None = None,
    webhook: bool = False,
) -> FeedsRun:
    """Each selected client's delivery due on or before `day` (idempotent: a repeat delivers nothing new).

    Every client is attempted even when another fails: one client's bad entitlement or unsafe folder must not
    cost the others their data. Failures are collected per client and raised as one alert at the end; the caller
    decides how to fail (the asset raises, the CLI exits non-zero). With `webhook`, the alert is also posted to
    NEXUS_ALERT_WEBHOOK_URL (the CLI; a scheduled run's failure reaches it through the run-failure sensor).
    An unknown `client_id` is refused up front.
    """
    register_feed_datasets()
    configured = get_clients(settings.clients_file)
    clients: list[Client] = [configured.client(client_id)] if client_id else list(configured.clients)
    feeds = feeds_storage(settings)
    results: list[DeliveryResult] = []
    failures: list[FeedFailure] = []
    for client in clients:
        as_of: date | None = None
        try:
            as_of = due_date(client.cadence, day)
            results.append(
                deliver(
                    lake,
                    feeds,
                    client,
                    as_of,
                    run_id=run_id,
                    presign=presign,
                    presign_expiry_s=settings.feeds_presign_expiry_s,
                )
            )
        except Exception as exc:  # recorded per client and alerted below, never swallowed
            failures.append(failure(client.client_id, as_of, exc))
            log.warning(
                "feeds: delivery to %s failed: %s: %s", client.client_id, exc.__class__.__name__, failures[-1].message
            )
    if failures:
        raise_alert(
            FeedsAlert(day=day, run_id=run_id, attempted=len(clients), failed=failures), settings if webhook else None
        )
    return FeedsRun(day=day, run_id=run_id, results=results, failures=failures)
