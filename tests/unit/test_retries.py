"""Step retries: a publisher that stays down is retried with backoff; a bad payload fails at once, never retried."""

import pytest
from dagster import Backoff, DagsterInstance, Failure, RetryPolicy, asset, materialize

from assets.retries import INGEST_RETRY_POLICY, is_transient, transient_faults_retried
from pipelines.definitions import CADENCES, defs
from resources.errors import SchemaMismatchError, SourceUnavailableError

DOWN = SourceUnavailableError("HTTP 503 after 5 attempts", source="cboe", location="https://cdn.cboe.com/x.csv")
TIMEOUT = SourceUnavailableError("ReadTimeout after 5 attempts: timed out", source="fred")
NOT_FOUND = SourceUnavailableError("HTTP 404: Not found", source="eia")
BAD = SchemaMismatchError("missing column CLOSE", source="cboe", location="VIX_History.csv", row=1)


def test_only_exhausted_retryable_faults_are_transient():
    assert is_transient(DOWN) and is_transient(TIMEOUT)
    assert not is_transient(NOT_FOUND)
    assert not is_transient(BAD)
    assert not is_transient(ValueError("bug"))


def test_ingest_jobs_retry_with_exponential_backoff():
    assert INGEST_RETRY_POLICY.backoff == Backoff.EXPONENTIAL and INGEST_RETRY_POLICY.max_retries >= 2
    for cadence in CADENCES:
        assert defs.resolve_job_def(f"{cadence}_ingest_job").op_retry_policy == INGEST_RETRY_POLICY


def _attempts(error: Exception, fail_times: int) -> tuple[bool, int]:
    """Materialize an asset that raises `error` on its first `fail_times` attempts inside the shipped guard."""
    calls = {"n": 0}

    @asset(retry_policy=RetryPolicy(max_retries=3, delay=0))
    def flaky() -> None:
        calls["n"] += 1
        with transient_faults_retried():
            if calls["n"] <= fail_times:
                raise error

    result = materialize([flaky], instance=DagsterInstance.ephemeral(), raise_on_error=False)
    return result.success, calls["n"]


def test_a_transient_fault_recovers_through_the_retry_policy():
    assert _attempts(DOWN, fail_times=2) == (True, 3)


@pytest.mark.parametrize("error", [BAD, NOT_FOUND])
def test_a_parse_error_or_a_4xx_fails_at_once(error):
    assert _attempts(error, fail_times=1) == (False, 1)


def test_the_failure_names_source_file_and_row():
    with pytest.raises(Failure) as caught, transient_faults_retried():
        raise BAD
    assert "source=cboe" in caught.value.description and "VIX_History.csv" in caught.value.description
    assert caught.value.allow_retries is False
