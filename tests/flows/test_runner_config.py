"""The Dask settings a run makes (see docs/operations.md), and that they are undone after it."""
from __future__ import annotations

import dask


def test_dask_client_turns_off_fusion_and_the_worker_profiler():
    from flows.cluster import dask_client

    with dask_client() as client:
        assert dask.config.get("optimization.fuse.active") is False  # dask/dask#9888
        assert dask.config.get("distributed.worker.profile.enabled") is False  # cpython#106883
        # the local worker was created under the setting: no profiler sampling thread stacks
        (worker,) = client.cluster.workers.values()
        assert "profile" not in worker.periodic_callbacks
    assert dask.config.get("distributed.worker.profile.enabled") is not False


def test_logs_after_the_flow_do_not_make_prefect_warn_of_a_missing_run():
    """Prefect's API log handler warns for every log made outside a run (no flow run id); the
    state, tables and publishing after a night are such logs (the README's demo printed one)."""
    import logging
    import warnings

    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW, temporary_settings

    from flows.runner import _outside_a_run

    record = logging.LogRecord("villagewatch.flows", logging.INFO, __file__, 1, "published", None, None)

    def warnings_of_emit() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            APILogHandler().emit(record)
        return [str(w.message) for w in caught]

    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "warn"}):
        assert any("flow run id" in m for m in warnings_of_emit())  # Prefect's behaviour, unguarded
        with _outside_a_run():
            assert warnings_of_emit() == []
        assert any("flow run id" in m for m in warnings_of_emit())  # restored after
