"""Feeds that never skip a client and never follow a link; manifests that say when the data are simulated."""

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from assets.feeds.runner import deliver_all
from pipelines.cli import app
from resources.feeds.alerts import FeedsAlert, register_alert_hook, unregister_alert_hook
from resources.feeds.clients import Client
from resources.feeds.datasets import FeedDataset, register
from resources.feeds.delivery import deliver, read_manifest
from resources.feeds.log import DELIVERY_LOG
from resources.feeds.paths import UnsafeDeliveryPath
from resources.lake.delta import read_table, replace_where
from resources.lake.provenance import record_mode
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from tests.fixtures.feed_tables import price_table_spec
from tests.webhook_receiver import WebhookReceiver

DAY = date(2024, 3, 15)
SPEC = price_table_spec("safety_feed")
register(FeedDataset(name="safety_prices", path=("safety_feed", "prices"), date_column="trade_date"))


def _publish(storage: LakeStorage) -> None:
    rows = [{"symbol": s, "trade_date": DAY, "close": c} for s, c in (("SPX", 5000.0), ("BTC", 70000.0))]
    replace_where(storage, SPEC, pa.Table.from_pylist(rows, schema=SPEC.schema))


def _client(client_id: str = "acme-fund", **kwargs) -> Client:
    base = {"client_id": client_id, "name": client_id, "datasets": ["safety_prices"], "instruments": ["BTC"]}
    return Client.model_validate(base | kwargs)


@pytest.fixture
def feeds(tmp_path: Path) -> LakeStorage:
    (tmp_path / "feeds").mkdir()
    return LakeStorage(root_uri=str(tmp_path / "feeds"))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# Each case: (client's target sub-folder, the link to plant relative to the feeds root, where it points).
LINK_CASES = {
    "to another client's folder": ("nexus", "acme-fund/nexus", "beta-two"),
    "out of the feeds root": ("nexus", "acme-fund/nexus", "../outside"),
    "the client folder itself": ("", "acme-fund", "../outside"),
    "a date= folder": ("", f"acme-fund/date={DAY}", "../../outside"),
    "a date= folder into another client": ("", f"acme-fund/date={DAY}", "../beta-two"),
}


@pytest.mark.parametrize("case", sorted(LINK_CASES))
def test_a_delivery_never_follows_a_symlink(storage, feeds, case):
    _publish(storage)
    subpath, link, points_to = LINK_CASES[case]
    root = Path(feeds.root_uri)
    for folder in (root / "beta-two", root.parent / "outside"):
        folder.mkdir(exist_ok=True)
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(points_to, root / link, target_is_directory=True)
    with pytest.raises(UnsafeDeliveryPath, match="symbolic link"):
        deliver(storage, feeds, _client(target={"subpath": subpath}), DAY, run_id="r")
    assert _files(root / "beta-two") == [] and _files(root.parent / "outside") == []
    assert read_table(storage, DELIVERY_LOG).num_rows == 0


def test_a_file_link_inside_a_version_folder_is_refused_too(storage, feeds):
    _publish(storage)
    version = Path(feeds.root_uri) / "acme-fund" / f"date={DAY}" / "v1"
    version.mkdir(parents=True)
    secret = Path(feeds.root_uri).parent / "elsewhere.parquet"
    secret.write_bytes(b"untouched")
    os.symlink(secret, version / "safety_prices.parquet")
    with pytest.raises(UnsafeDeliveryPath):
        deliver(storage, feeds, _client(), DAY, run_id="r")
    assert secret.read_bytes() == b"untouched" and not (version / "manifest.json").exists()


def _clients_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clients.yaml").write_text(
        "clients:\n"
        "  - {client_id: broken-one, name: a, datasets: [no_such_dataset], instruments: [BTC]}\n"
        "  - {client_id: linked-two, name: b, datasets: [safety_prices], instruments: [BTC]}\n"
        "  - {client_id: fine-three, name: c, datasets: [safety_prices], instruments: [SPX]}\n"
        "  - {client_id: fine-four, name: d, datasets: [safety_prices], instruments: [BTC], format: csv}\n"
    )
    monkeypatch.setenv("NEXUS_CLIENTS_FILE", str(tmp_path / "clients.yaml"))
    monkeypatch.setenv("NEXUS_FEEDS_URI", str(tmp_path / "feeds"))
    (tmp_path / "feeds").mkdir(exist_ok=True)
    (tmp_path / "outside").mkdir(exist_ok=True)
    os.symlink("../outside", tmp_path / "feeds" / "linked-two")


def test_a_failing_client_does_not_stop_the_others_and_raises_an_alert(storage, tmp_path, monkeypatch):
    _publish(storage)
    _clients_file(tmp_path, monkeypatch)
    alerts: list[FeedsAlert] = []
    hook = register_alert_hook(alerts.append)
    try:
        run = deliver_all(storage, get_settings(), DAY, run_id="nightly")
    finally:
        unregister_alert_hook(hook)
    assert not run.ok
    assert [r.client_id for r in run.results] == ["fine-three", "fine-four"]
    assert all(r.status == "delivered" and r.rows == 1 for r in run.results)
    assert {f.client_id: f.error for f in run.failures} == {
        "broken-one": "DeliveryError",
        "linked-two": "UnsafeDeliveryPath",
    }
    assert len(alerts) == 1 and alerts[0].attempted == 4 and len(alerts[0].failed) == 2
    assert "2 of 4 client deliveries failed" in alerts[0].line()
    assert _files(tmp_path / "outside") == []


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A Slack-compatible receiver on 127.0.0.1; NEXUS_ALERT_WEBHOOK_URL points at it."""
    with WebhookReceiver("/hooks/feeds") as receiver:
        monkeypatch.setenv("NEXUS_ALERT_WEBHOOK_URL", receiver.url)
        yield receiver.received


def test_the_cli_reports_each_failed_client_exits_non_zero_and_posts_the_alert(storage, tmp_path, monkeypatch, webhook):
    _publish(storage)
    _clients_file(tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["feeds", "deliver", "--date", str(DAY)], env={"COLUMNS": "100"})
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("✔ fine-three") for line in lines) and any(
        line.startswith("✔ fine-four") for line in lines
    )
    assert any(line.startswith("✗ broken-one") and "unknown dataset 'no_such_dataset'" in line for line in lines)
    assert any(line.startswith("✗ linked-two") and "symbolic link" in line for line in lines)
    assert "2 of 4 client deliveries failed." in result.output and "Traceback" not in result.output
    assert len(webhook) == 1
    assert "Client feed deliveries failed for 2024-03-15: 2 of 4" in webhook[0]["text"]
    assert "broken-one, linked-two" in webhook[0]["text"]


def test_manifests_carry_a_simulated_mark_only_when_the_lake_is_simulated(storage, feeds):
    _publish(storage)
    real = read_manifest(feeds, deliver(storage, feeds, _client(), DAY, run_id="r1").manifest_uri)
    assert real.simulated_data is False and real.notice is None
    record_mode(storage, "cboe", "simulated")
    result = deliver(storage, feeds, _client(), DAY, run_id="r2")
    assert result.status == "delivered" and result.version == 2 and result.simulated_data
    marked = read_manifest(feeds, result.manifest_uri)
    assert marked.simulated_data is True
    assert marked.notice is not None and marked.notice.startswith("SIMULATED DATA") and "cboe" in marked.notice
    assert b'"simulated_data": true' in Path(result.manifest_uri).read_bytes()


def test_a_scheduled_run_with_a_failing_client_fails_after_delivering_the_others(storage, tmp_path, monkeypatch):
    from dagster import materialize

    from assets.feeds.assets import delivery_log
    from resources.lake.resource import LakeResource
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    _publish(storage)
    _clients_file(tmp_path, monkeypatch)
    result = materialize(
        [delivery_log],
        partition_key=str(DAY),
        resources={
            "lake": LakeResource(lake_uri=storage.root_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "2 of 4 client deliveries failed (broken-one, linked-two)" in str(failure.event_specific_data)
    delivered = sorted(r["client_id"] for r in read_table(storage, DELIVERY_LOG).to_pylist())
    assert delivered == ["fine-four", "fine-three"]


def test_presigned_url_lifetime_is_configurable_within_sigv4_limits(monkeypatch):
    from pydantic import ValidationError

    from resources.feeds.delivery import presign_expiry

    assert presign_expiry(_client(target={"presign": True, "presign_expiry_s": 600}), 7200) == 600
    assert presign_expiry(_client(target={"presign": True}), 7200) == 7200
    with pytest.raises(ValueError, match="less than or equal to 604800"):
        _client(target={"presign": True, "presign_expiry_s": 8 * 24 * 3600})
    monkeypatch.setenv("NEXUS_FEEDS_PRESIGN_EXPIRY_S", str(8 * 24 * 3600))
    with pytest.raises(ValidationError, match="feeds_presign_expiry_s"):
        get_settings()
    monkeypatch.delenv("NEXUS_FEEDS_PRESIGN_EXPIRY_S")
    assert get_settings().feeds_presign_expiry_s == 3 * 24 * 3600
