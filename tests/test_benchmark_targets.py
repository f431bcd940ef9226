"""The benchmark's target rows (benchmarks/targets.py) judge what they say they judge."""

from benchmarks.metrics import PhaseResult
from benchmarks.targets import auth_targets


def _phase(name: str, ops: int, wall: float, errors: int = 0) -> PhaseResult:
    return PhaseResult(name, ops=ops, wall=wall, ops_per_s=ops / wall, errors=errors)


def _runs(fetch_wall: float, errors: int = 0) -> list[PhaseResult]:
    return [_phase("fetch", 300, fetch_wall, errors), _phase("collect", 300, 1.0)]


def _whole(targets):
    return next(t for t in targets if t.name.startswith("token identity: whole"))


def test_the_whole_workload_row_divides_all_requests_by_all_phase_time():
    # token: 600 requests in 2.1 s; dev: 600 in 2.0 s -> 0.952, met;
    # the fetch row alone is 1.0 / 1.1 = 0.909, not met
    targets = auth_targets({"auth": _runs(1.1), "auth_dev": _runs(1.0)})
    fetch = next(t for t in targets if t.name == "token identity: fetch ops/s vs dev")
    assert not fetch.met and fetch.value.startswith("0.909x")
    whole = _whole(targets)
    assert whole.met and whole.value == "0.952x (285.7 vs 300.0)"


def test_the_whole_workload_row_misses_below_the_line_and_with_errors():
    assert not _whole(auth_targets({"auth": _runs(1.2), "auth_dev": _runs(1.0)})).met  # 0.909
    flawed = _whole(auth_targets({"auth": _runs(1.0, errors=2), "auth_dev": _runs(1.0)}))
    assert not flawed.met and flawed.value.endswith("(2 errors)")


def test_the_whole_workload_row_is_not_run_when_a_side_or_a_phase_is_missing():
    assert _whole(auth_targets({"auth_dev": _runs(1.0)})).value == "not run"
    partial = {"auth": _runs(1.0)[:1], "auth_dev": _runs(1.0)}
    assert not _whole(auth_targets(partial)).met
