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
