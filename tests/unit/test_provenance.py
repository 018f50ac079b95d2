"""The lake records which publisher modes loaded each source, so readers can flag simulated data."""

from resources.lake.provenance import is_simulated, record_mode, simulated_sources, source_modes


def test_modes_accumulate_per_source_and_flag_simulated_data(storage):
    assert source_modes(storage) == {} and not is_simulated(storage)
    record_mode(storage, "cboe", "files")
    assert not is_simulated(storage)
    record_mode(storage, "fred", "simulated")
    record_mode(storage, "fred", "simulated")
    record_mode(storage, "cboe", "live")
    assert source_modes(storage) == {"cboe": {"files", "live"}, "fred": {"simulated"}}
    assert simulated_sources(storage) == ["fred"] and is_simulated(storage)


def test_an_ingest_records_its_mode(storage, settings, real_data):
    from resources.sources.registry import ingest_source

    ingest_source("cboe", storage, settings, run_id="t", start=None, end=None, files=[real_data / "cboe"])
    assert source_modes(storage) == {"cboe": {"files"}}
