"""Fair-share CPU accounting between overlapping requests."""

from __future__ import annotations

import pytest

from rathaus.llm.cpu_meter import CpuMeter


def test_overlapping_requests_share_cpu_time() -> None:
    clock = [0.0]
    meter = CpuMeter(clock=lambda: clock[0])
    a = meter.start()
    clock[0] = 2.0  # a alone: 2 s
    b = meter.start()
    clock[0] = 6.0  # a and b together: 4 s, 2 s each
    cpu_a = meter.stop(a)
    clock[0] = 7.0  # b alone: 1 s
    cpu_b = meter.stop(b)
    assert cpu_a == pytest.approx(4.0)
    assert cpu_b == pytest.approx(3.0)
    assert cpu_a + cpu_b == pytest.approx(7.0)  # nothing lost, nothing counted twice
