"""Deliver every client's feed (or one client's) for a day: what `nexus feeds deliver` and the feeds asset run."""

from __future__ import annotations

from datetime import date

import pyarrow.compute as pc

import assets.personas.tables  # noqa: F401 - persona and signal datasets register with the feeds on import
from assets.signals.table import SIGNALS
from resources.feeds.cadence import due_date
from resources.feeds.clients import Client, get_clients
from resources.feeds.delivery import DeliveryResult, deliver
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import Settings


def feeds_storage(settings: Settings) -> LakeStorage:
    options = settings.aws_storage_options() if settings.feeds_uri.startswith("s3://") else {}
    return LakeStorage(root_uri=settings.feeds_uri, storage_options=options)


def latest_signal_date(lake: LakeStorage) -> date | None:
    """The newest decision day in the signals table: what a delivery without an explicit date means."""
    days = read_table(lake, SIGNALS, columns=["signal_date"])
    return pc.max(days["signal_date"]).as_py() if days.num_rows else None


def deliver_all(
    lake: LakeStorage,
    settings: Settings,
    day: date,
    *,
    run_id: str,
    client_id: str | None = None,
    presign: bool | None = None,
) -> list[DeliveryResult]:
    """Each selected client's delivery due on or before `day` (idempotent: a repeat delivers nothing new)."""
    clients: list[Client] = [get_clients().client(client_id)] if client_id else list(get_clients().clients)
    feeds = feeds_storage(settings)
    return [
        deliver(lake, feeds, client, due_date(client.cadence, day), run_id=run_id, presign=presign)
        for client in clients
    ]
