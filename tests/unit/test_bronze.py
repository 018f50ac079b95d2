"""Bronze keeps raw payloads byte for byte and never stores the same bytes twice for one dataset."""

from datetime import UTC, datetime

import pytest

from resources.lake.bronze import MANIFEST, RawPayload, put_payloads, read_payload
from resources.lake.delta import content_hash, read_table


def _payload(
    data: bytes, location: str = "https://cdn.example.com/VIX_History.csv", dataset: str = "VIX"
) -> RawPayload:
    return RawPayload(source="cboe", dataset=dataset, location=location, data=data, fetched_at=datetime.now(UTC))


def test_payload_is_kept_byte_for_byte(storage):
    data = b"DATE,OPEN,HIGH,LOW,CLOSE\r\n01/02/2024,1,2,0.5,1.5\r\n\xef\xbb\xbf"
    [record] = put_payloads(storage, [_payload(data)], run_id="r1")
    assert record.is_new
    assert storage.read_bytes(record.object_uri) == data
    assert read_payload(storage, record.sha256) == data


def test_same_bytes_twice_add_nothing(storage):
    data = b"DATE,CLOSE\n01/02/2024,12.5\n"
    put_payloads(storage, [_payload(data)], run_id="r1")
    before = content_hash(read_table(storage, MANIFEST))
    [record] = put_payloads(storage, [_payload(data), _payload(data)], run_id="r2")[:1]
    assert not record.is_new
    assert content_hash(read_table(storage, MANIFEST)) == before
    assert read_table(storage, MANIFEST).num_rows == 1
    assert read_table(storage, MANIFEST).column("run_id").to_pylist() == ["r1"]


def test_the_same_bytes_under_another_dataset_are_another_payload(storage):
    """Parsers read meaning from the dataset (a Coin Metrics file named for its asset), so a renamed copy must stay
    in bronze as its own payload: stored byte for byte, in the manifest, and counted new."""
    data = b"DATE,CLOSE\n01/02/2024,12.5\n"
    first, copy, repeat = put_payloads(
        storage,
        [_payload(data), _payload(data, "/files/VXN_History.csv", dataset="VXN"), _payload(data, dataset="VXN")],
        run_id="r1",
    )
    assert first.is_new and copy.is_new and not repeat.is_new
    assert copy.object_uri != first.object_uri and storage.read_bytes(copy.object_uri) == data
    manifest = read_table(storage, MANIFEST)
    assert sorted(manifest.column("dataset").to_pylist()) == ["VIX", "VXN"]
    assert set(manifest.column("sha256").to_pylist()) == {first.sha256}
    [again] = put_payloads(storage, [_payload(data, dataset="VXN")], run_id="r2")
    assert not again.is_new and read_table(storage, MANIFEST).num_rows == 2


def test_stored_objects_are_never_rewritten(storage):
    data = b"DATE,CLOSE\n01/02/2024,12.5\n"
    [record] = put_payloads(storage, [_payload(data)], run_id="r1")
    path = storage.fs_path(record.object_uri)
    mtime = storage.filesystem.get_file_info(path).mtime
    put_payloads(storage, [_payload(data)], run_id="r2")
    assert storage.filesystem.get_file_info(path).mtime == mtime
    different = put_payloads(storage, [_payload(data + b"01/03/2024,13\n")], run_id="r3")[0]
    assert different.is_new and different.object_uri != record.object_uri
    assert storage.read_bytes(record.object_uri) == data


def test_tampered_object_is_detected(storage):
    [record] = put_payloads(storage, [_payload(b"DATE,CLOSE\n")], run_id="r1")
    storage.write_bytes(record.object_uri, b"tampered")
    with pytest.raises(ValueError, match="does not match"):
        read_payload(storage, record.sha256)


def test_credentials_never_reach_the_manifest(storage):
    url = "https://api.example.com/fred/series/observations?series_id=DGS10&api_key=abcd1234secret&file_type=json"
    put_payloads(storage, [_payload(b"{}", location=url)], run_id="r1")
    location = read_table(storage, MANIFEST).column("location")[0].as_py()
    assert "abcd1234secret" not in location
    assert "api_key=***" in location


def test_a_moved_lake_still_finds_its_objects(tmp_path):
    """The manifest stores object paths relative to the lake root; old absolute rows are read too."""
    import shutil

    from resources.lake.bronze import object_location
    from resources.lake.storage import LakeStorage

    old = LakeStorage(root_uri=str(tmp_path / "old"))
    data = b"DATE,CLOSE\n01/02/2024,13.2\n"
    [record] = put_payloads(old, [_payload(data)], "r")
    [row] = read_table(old, MANIFEST).to_pylist()
    assert row["object_uri"].startswith("bronze/") and not row["object_uri"].startswith(str(tmp_path))
    shutil.move(tmp_path / "old", tmp_path / "new")
    new = LakeStorage(root_uri=str(tmp_path / "new"))
    assert read_payload(new, record.sha256) == data
    assert new.read_bytes(object_location(new, str(tmp_path / "old" / row["object_uri"]))) == data  # old absolute


def test_a_renamed_copy_refused_is_quarantined_as_its_own_payload(storage):
    from resources.lake.quarantine import QUARANTINE, Rejection, quarantine_rows

    bad = [Rejection(2, "close is not a number", "01/02/2024,x")]
    for dataset in ("VIX", "VXN", "VXN"):
        quarantine_rows(storage, bad, source="cboe", dataset=dataset, location="f.csv", source_sha256="ab", run_id="r")
    assert sorted(read_table(storage, QUARANTINE).column("dataset").to_pylist()) == ["VIX", "VXN"]
