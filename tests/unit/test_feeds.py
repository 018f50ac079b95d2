"""Client feeds: entitlements, validated targets, manifests that match their files, idempotent re-delivery."""

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from resources.errors import ConfigError, DeliveryError
from resources.feeds.clients import Client, load_clients, validate_client_id, validate_subpath
from resources.feeds.datasets import FeedDataset, register
from resources.feeds.delivery import deliver, read_manifest, verify_delivery
from resources.feeds.log import DELIVERY_LOG
from resources.lake.delta import read_table, replace_where
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from tests.fixtures.feed_tables import price_table_spec

DAY = date(2024, 3, 15)
SPEC = price_table_spec("test_feed")
register(FeedDataset(name="test_prices", path=("test_feed", "prices"), date_column="trade_date"))
register(FeedDataset(name="test_macro", path=("test_feed", "macro"), date_column="trade_date", symbol_column=None))


def _publish(storage: LakeStorage, close_spx: float = 5000.0) -> None:
    rows = [
        {"symbol": s, "trade_date": d, "close": c}
        for d in (date(2024, 3, 14), DAY)
        for s, c in (("SPX", close_spx), ("WTI", 80.0), ("BTC", 70000.0))
    ]
    replace_where(storage, SPEC, pa.Table.from_pylist(rows, schema=SPEC.schema))


def _client(**kwargs) -> Client:
    base = {"client_id": "acme-fund", "name": "Acme", "datasets": ["test_prices"], "instruments": ["SPX", "WTI"]}
    return Client.model_validate(base | kwargs)


@pytest.fixture
def feeds(tmp_path: Path) -> LakeStorage:
    return LakeStorage(root_uri=str(tmp_path / "feeds"))


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_delivery_has_only_entitled_rows_and_a_manifest_that_matches(storage, feeds, fmt):
    _publish(storage)
    result = deliver(storage, feeds, _client(format=fmt), DAY, run_id="r1")
    assert result.status == "delivered" and result.version == 1 and result.rows == 2
    manifest = read_manifest(feeds, result.manifest_uri)
    assert manifest.as_of == DAY and manifest.row_counts == {"test_prices": 2}
    assert verify_delivery(feeds, result.manifest_uri) == []
    folder = Path(result.manifest_uri).parent
    assert folder == Path(feeds.root_uri) / "acme-fund" / f"date={DAY}" / "v1"
    content = (folder / manifest.files[0].path).read_bytes()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        got = pq.read_table(folder / manifest.files[0].path)
        assert sorted(got["symbol"].to_pylist()) == ["SPX", "WTI"]
        assert set(got["trade_date"].to_pylist()) == {DAY}
    else:
        assert b"BTC" not in content and b"SPX" in content and b"2024-03-14" not in content
    schema = json.loads((folder / "schemas" / "test_prices.schema.json").read_text())
    assert schema["properties"]["close"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}


def test_redelivery_is_idempotent_and_a_change_is_a_new_version(storage, feeds):
    _publish(storage)
    first = deliver(storage, feeds, _client(), DAY, run_id="r1")
    files_before = sorted(p.relative_to(feeds.root_uri) for p in Path(feeds.root_uri).rglob("*") if p.is_file())
    again = deliver(storage, feeds, _client(), DAY, run_id="r2")
    assert again.status == "unchanged" and again.version == 1 and again.manifest_uri == first.manifest_uri
    assert sorted(p.relative_to(feeds.root_uri) for p in Path(feeds.root_uri).rglob("*") if p.is_file()) == files_before
    assert read_table(storage, DELIVERY_LOG).num_rows == 1
    _publish(storage, close_spx=5001.0)  # a restated close changes the day's content
    changed = deliver(storage, feeds, _client(), DAY, run_id="r3")
    assert changed.status == "delivered" and changed.version == 2
    assert verify_delivery(feeds, first.manifest_uri) == []  # the old version is untouched
    log = read_table(storage, DELIVERY_LOG).to_pandas().sort_values("version")
    assert list(log.version) == [1, 2] and log.content_sha256.nunique() == 2


def test_market_wide_datasets_have_no_instrument_filter(storage, feeds):
    spec = TableSpec(
        zone="gold",
        name="test_feed/macro",
        schema=pa.schema([pa.field("trade_date", pa.date32(), nullable=False), pa.field("dgs10", pa.float64())]),
        keys=("trade_date",),
        date_column="trade_date",
    )
    replace_where(storage, spec, pa.table({"trade_date": [DAY], "dgs10": [4.2]}, schema=spec.schema))
    result = deliver(storage, feeds, _client(datasets=["test_macro"], instruments=[]), DAY, run_id="r")
    assert result.rows == 1


def test_a_client_never_gets_another_clients_folder_or_unentitled_data(storage, feeds):
    _publish(storage)
    a = deliver(storage, feeds, _client(client_id="alpha-one", instruments=["SPX"]), DAY, run_id="r")
    b = deliver(storage, feeds, _client(client_id="beta-two", instruments=["BTC"]), DAY, run_id="r")
    assert "/alpha-one/" in a.manifest_uri and "/beta-two/" in b.manifest_uri
    assert b"SPX" not in Path(b.manifest_uri).with_name("test_prices.parquet").read_bytes()
    with pytest.raises(DeliveryError, match="unknown dataset"):
        deliver(storage, feeds, _client(datasets=["secret_internal_table"]), DAY, run_id="r")


@pytest.mark.parametrize("bad", ["../other-client", "a/../../b", "/etc", "C:/x", "s3://bucket/x", "a//b", "..", "x/."])
def test_traversal_and_absolute_targets_are_refused(bad):
    with pytest.raises(DeliveryError):
        validate_subpath(bad)
    with pytest.raises(ValueError, match="delivery path"):
        _client(target={"subpath": bad})


@pytest.mark.parametrize("bad", ["../x", "Acme", "a", "acme/fund", "acme..fund", "acme.fund", "-acme", ""])
def test_client_ids_are_slugs(bad):
    with pytest.raises(DeliveryError):
        validate_client_id(bad)


def test_clients_file_errors_name_the_problem(tmp_path):
    path = tmp_path / "clients.yaml"
    path.write_text("clients:\n  - client_id: ../evil\n    name: x\n    datasets: [signals]\n")
    with pytest.raises(ConfigError, match=r"clients\.0\.client_id"):
        load_clients(path)
    path.write_text(
        "clients:\n"
        "  - {client_id: same-one, name: a, datasets: [x]}\n"
        "  - {client_id: same-one, name: b, datasets: [y]}\n"
    )
    with pytest.raises(ConfigError, match="duplicate"):
        load_clients(path)


def test_sample_clients_file_is_valid(settings):
    from resources.feeds.clients import get_clients

    clients = get_clients(settings.clients_file)
    assert len(clients.clients) >= 3
    assert {c.format for c in clients.clients} == {"parquet", "csv", "jsonl"}


def test_presign_needs_an_s3_root(storage, feeds):
    _publish(storage)
    with pytest.raises(DeliveryError, match="s3://"):
        deliver(storage, feeds, _client(), DAY, run_id="r", presign=True)


def test_a_weekly_client_gets_the_whole_week_and_the_manifest_says_so(storage, feeds):
    _publish(storage)
    result = deliver(storage, feeds, _client(cadence="weekly"), DAY, run_id="r1")
    manifest = read_manifest(feeds, result.manifest_uri)
    assert (manifest.period_start, manifest.as_of) == (date(2024, 3, 9), DAY)
    assert result.rows == 4  # SPX and WTI on Thursday and Friday


def test_a_monday_delivery_carries_the_weekend_of_instruments_that_trade_then(storage, feeds):
    weekend = [date(2024, 3, 16), date(2024, 3, 17), date(2024, 3, 18)]
    rows = [{"symbol": "BTC", "trade_date": d, "close": 70000.0} for d in [DAY, *weekend]]
    replace_where(storage, SPEC, pa.Table.from_pylist(rows, schema=SPEC.schema))
    result = deliver(storage, feeds, _client(instruments=["BTC"]), date(2024, 3, 18), run_id="r1")
    assert result.rows == 3
    assert read_manifest(feeds, result.manifest_uri).period_start == date(2024, 3, 16)


def test_an_empty_delivery_is_refused_and_writes_nothing(storage, feeds):
    _publish(storage)
    with pytest.raises(DeliveryError, match="nothing to deliver as of 2024-03-20"):
        deliver(storage, feeds, _client(), date(2024, 3, 20), run_id="r1")
    assert not (Path(feeds.root_uri) / "acme-fund").exists()
    assert read_table(storage, DELIVERY_LOG).num_rows == 0


def test_signal_and_persona_datasets_join_the_catalog_when_the_feeds_stage_registers_them_not_on_import():
    """Importing the signal and persona modules registers nothing; the feeds stage's explicit call does."""
    import subprocess
    import sys

    code = (
        "from resources.feeds.datasets import DATASETS\n"
        "import assets.personas.tables, assets.signals.table\n"
        "before = sorted(DATASETS)\n"
        "from assets.feeds.runner import register_feed_datasets\n"
        "register_feed_datasets()\n"
        "print(len(before), len(DATASETS), 'signals' in before, 'signals' in DATASETS, "
        "'persona_hedge_fund' in DATASETS)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    marts, registered, signals_before, signals_after, persona_after = result.stdout.split()
    assert signals_before == "False" and signals_after == "True" and persona_after == "True"
    assert int(registered) > int(marts) == 7
