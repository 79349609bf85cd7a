"""The jobs layer: results, errors, one job per lane, cancel (thread and worker process)."""

from __future__ import annotations

import pytest
from guitest import WAIT_MS

from obic_gui.jobs import JobManager


@pytest.fixture(params=["thread", "process"])
def jobs(request):
    lanes = () if request.param == "thread" else ("codec",)
    j = JobManager(task_module="gui_fake_tasks", process_lanes=lanes)
    yield j
    j.shutdown()


def test_result_arrives_through_signals(qtbot, jobs):
    with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS) as blocker:
        info = jobs.submit("codec", "echo", "echo", {"value": {"a": 1}})
    assert blocker.args[0] == info and blocker.args[1] == {"a": 1}
    assert not jobs.is_busy("codec")


def test_a_second_job_on_a_busy_lane_is_refused(qtbot, jobs):
    first = jobs.submit("codec", "slow", "slow_cooperative")
    assert first is not None and jobs.is_busy("codec")
    assert jobs.submit("codec", "slow", "slow_cooperative") is None, "no second job"
    other_lane = jobs.submit("io", "echo", "echo", {"value": 1})
    assert other_lane is not None, "other lanes still run"
    with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS):
        jobs.cancel("codec")
    assert not jobs.is_busy("codec")


def test_cancel_a_cooperative_job(qtbot, jobs):
    with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS):
        info = jobs.submit("codec", "slow", "slow_cooperative")
    with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS) as blocker:
        jobs.cancel("codec")
    assert blocker.args[0] == info
    with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS):
        assert jobs.submit("codec", "echo", "echo", {"value": 2}) is not None, "lane is free again"


def test_error_becomes_a_readable_message(qtbot, jobs):
    with qtbot.waitSignal(jobs.failed, timeout=WAIT_MS) as blocker:
        jobs.submit("codec", "fails", "fails")
    err = blocker.args[1]
    assert err.kind == "weights" and "weight file not found" in err.message
    assert "Traceback" not in err.message


def test_replace_cancels_the_running_job_and_runs_the_new_one(qtbot, jobs):
    jobs.submit("codec", "slow", "slow_cooperative")
    with qtbot.waitSignals([jobs.cancelled, jobs.finished], timeout=WAIT_MS):
        jobs.submit("codec", "echo", "echo", {"value": 3}, when_busy="replace")


def test_stubborn_job_is_stopped_by_ending_the_worker_process(qtbot):
    jobs = JobManager(task_module="gui_fake_tasks", process_lanes=("codec",))
    try:
        with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS):
            jobs.submit("codec", "stubborn", "slow_stubborn")
        with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS):
            jobs.cancel("codec")
        with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS) as blocker:
            jobs.submit("codec", "echo", "echo", {"value": "again"})
        assert blocker.args[1] == "again", "a fresh worker took over"
    finally:
        jobs.shutdown()


def test_a_crashing_worker_is_reported_not_fatal(qtbot):
    jobs = JobManager(task_module="gui_fake_tasks", process_lanes=("codec",))
    try:
        with qtbot.waitSignal(jobs.failed, timeout=WAIT_MS) as blocker:
            jobs.submit("codec", "crash", "crashes")
        assert blocker.args[1].kind == "crash" and "exit code 3" in blocker.args[1].message
        with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS):
            jobs.submit("codec", "echo", "echo", {"value": 1})
    finally:
        jobs.shutdown()


def test_a_result_that_would_import_torch_is_refused(qtbot):
    """The GUI process never imports torch, not even by unpickling a stray torch object."""
    jobs = JobManager(task_module="gui_fake_tasks", process_lanes=("codec",))
    try:
        with qtbot.waitSignal(jobs.failed, timeout=WAIT_MS) as blocker:
            jobs.submit("codec", "leak", "leaks_a_foreign_object")
        assert "refers to" in blocker.args[1].message
        with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS):
            jobs.submit("codec", "echo", "echo", {"value": 1})
    finally:
        jobs.shutdown()


def test_a_job_started_from_a_result_handler_is_not_lost(qtbot):
    """Re-entrancy: a slot of ``finished`` submits the next job while another one is queued."""
    jobs = JobManager(task_module="gui_fake_tasks", process_lanes=())
    try:
        results = []
        jobs.finished.connect(lambda info, value: results.append(value))
        jobs.finished.connect(
            lambda info, value: (
                value == "first" and jobs.submit("codec", "chained", "echo", {"value": "chained"}, when_busy="queue")
            )
        )
        jobs.submit("codec", "first", "echo", {"value": "first"})
        jobs.submit("codec", "queued", "echo", {"value": "queued"}, when_busy="queue")
        qtbot.waitUntil(lambda: len(results) == 3 and not jobs.is_busy("codec"), timeout=WAIT_MS)
        assert sorted(results) == ["chained", "first", "queued"]
    finally:
        jobs.shutdown()


def test_each_job_answers_its_own_handlers(qtbot, jobs):
    """on_* handlers belong to one job: the answer goes where its submit said, before the signal."""
    seen = []
    jobs.finished.connect(lambda info, value: seen.append(("signal", value)))
    for value in ("a", "b"):
        jobs.submit(
            "codec",
            "echo",
            "echo",
            {"value": value},
            when_busy="queue",
            on_started=lambda value=value: seen.append(("started", value)),
            on_done=lambda result, value=value: seen.append(("done", value, result)),
        )
    qtbot.waitUntil(lambda: len(seen) == 6, timeout=WAIT_MS)
    assert seen == [
        ("started", "a"),
        ("done", "a", "a"),
        ("signal", "a"),
        ("started", "b"),
        ("done", "b", "b"),
        ("signal", "b"),
    ]
    failed, progress = [], []
    with qtbot.waitSignal(jobs.failed, timeout=WAIT_MS):
        jobs.submit("codec", "fails", "fails", on_failed=failed.append, on_done=lambda r: failed.append("no"))
    assert len(failed) == 1 and failed[0].kind == "weights"
    cancelled = []
    with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS):
        jobs.submit("codec", "slow", "slow_cooperative", on_progress=lambda s, f: progress.append(s))
    queued = jobs.submit(
        "codec", "echo", "echo", {"value": 1}, when_busy="queue", on_cancelled=lambda: cancelled.append(1)
    )
    jobs.drop_queued("codec")
    assert queued is not None and cancelled == [1], "a dropped job is cancelled, through its handler"
    with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS):
        jobs.cancel("codec")
    assert progress and set(progress) == {"working"}


def test_a_failing_handler_does_not_wedge_the_lane(qtbot, jobs, monkeypatch):
    import sys

    reported = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: reported.append(exc[0]))
    jobs.submit("codec", "bad", "echo", {"value": 1}, on_done=lambda r: 1 / 0)
    done = []
    jobs.submit("codec", "next", "echo", {"value": 2}, when_busy="queue", on_done=done.append)
    qtbot.waitUntil(lambda: done == [2], timeout=WAIT_MS)
    assert reported == [ZeroDivisionError]


def test_forgotten_handlers_are_not_called(qtbot, jobs):
    """A window going away forgets its jobs' handlers; the jobs still end and say so."""
    owner, other, calls = object(), object(), []
    jobs.submit("codec", "mine", "echo", {"value": 1}, owner=owner, on_done=lambda r: calls.append("mine"))
    jobs.submit("codec", "other", "echo", {"value": 2}, when_busy="queue", owner=other, on_done=calls.append)
    jobs.forget(owner)
    qtbot.waitUntil(lambda: not jobs.is_busy("codec"), timeout=WAIT_MS)
    assert calls == [2]
