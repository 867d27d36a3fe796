"""The CLI follows the several jobs of a split upload together (ztd.cli.batch_jobs); when
--timeout runs out on a later job, the error names the whole timeout and every job still
unfinished. Over the real app in-process, with fake time."""

from __future__ import annotations

import pytest

from tests.support.fake_time import FakeTime
from tests.support.sdk import devices
from tests.support.world import World
from ztd.cli.batch_jobs import StartedJob, wait_all
from ztd.client import PartnerClient, PollingTimeoutError
from ztd.server.jobs.worker import Worker


def test_a_later_job_running_out_of_time_names_the_whole_timeout(
    partner: PartnerClient, world: World, worker: Worker, fake_time: FakeTime
) -> None:
    batches = partner.customers.by_id(world.customer).device_batches
    first = batches.create(batch_id="split", devices=devices(1, 2))
    second = batches.by_id("split").devices.create(devices(3))
    assert worker.run_once()  # the first job's only chunk; the second stays queued
    fake_time.worker = None  # and nothing else gets processed

    jobs = [StartedJob(first, 2), StartedJob(second, 1)]
    with pytest.raises(PollingTimeoutError) as caught:
        wait_all(jobs, 2.0, None)
    assert caught.value.message == (
        f"1 of 2 batch jobs did not finish within 2.0 s ({second.tracking_id}); "
        "the first of them: status queued, 0 of 1 devices done"
    )
    assert caught.value.tracking_id == second.tracking_id

    fake_time.worker = worker
    first_done, second_done = wait_all(jobs, None, None)
    assert [len(d.devices_status) for d in (first_done, second_done)] == [2, 1]
