"""When a say path may trust a cap check for a second: far from every cap that applies
(at least 20,000 tokens and 10% of the cap left; 10% of a money cap)."""

from __future__ import annotations

from realtime.quota import FAR_TOKENS, MonthlyCaps


def test_far_means_enough_left_of_every_cap_that_applies() -> None:
    assert MonthlyCaps(None, None).far(10**9, 10**9)
    big = MonthlyCaps(tokens=1_000_000, cost_micros=None)
    assert big.far(900_000, None)  # 100,000 left: 10% and over 20,000
    assert not big.far(900_001, None)
    small = MonthlyCaps(tokens=1_500, cost_micros=None)  # never far: one reply could pass it
    assert not small.far(0, None)
    assert MonthlyCaps(tokens=FAR_TOKENS * 10, cost_micros=None).far(FAR_TOKENS * 9, None)
    money = MonthlyCaps(tokens=None, cost_micros=5_000_000)
    assert money.far(None, 4_500_000) and not money.far(None, 4_500_001)
    assert not MonthlyCaps(tokens=1_000_000, cost_micros=5_000_000).far(0, 4_900_000)
    assert MonthlyCaps(tokens=1_000_000, cost_micros=None).far(None, None)  # unmeasured
