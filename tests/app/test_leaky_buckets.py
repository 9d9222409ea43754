"""The cost points of one process's credentials (app/limits.py LeakyBuckets), on a fake clock."""

from app.limits import LeakyBuckets, LimitSettings


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_points_are_taken_refilled_at_the_rate_and_capped_at_the_bucket() -> None:
    clock = Clock()
    buckets = LeakyBuckets(LimitSettings(bucket_size=100, restore_rate=10.0), clock)
    assert await buckets.available("key:1") == 100.0  # a credential never seen has it all
    assert await buckets.take("key:1", 30) is None
    assert await buckets.available("key:1") == 70.0
    assert await buckets.available("key:2") == 100.0  # each credential its own
    clock.now += 2  # 2 s at 10 points a second
    assert await buckets.available("key:1") == 90.0
    clock.now += 60
    assert await buckets.available("key:1") == 100.0  # never beyond the bucket


async def test_a_cost_beyond_the_points_is_refused_with_the_wait_and_debits_nothing() -> None:
    clock = Clock()
    buckets = LeakyBuckets(LimitSettings(bucket_size=100, restore_rate=10.0), clock)
    assert await buckets.take("key:1", 80) is None
    assert await buckets.take("key:1", 50) == 3.0  # 20 there, 30 more at 10 a second
    assert await buckets.available("key:1") == 20.0
    clock.now += 3
    assert await buckets.take("key:1", 50) is None
    assert await buckets.available("key:1") == 0.0


async def test_a_refund_gives_back_within_the_bucket() -> None:
    clock = Clock()
    buckets = LeakyBuckets(LimitSettings(bucket_size=100, restore_rate=10.0), clock)
    assert await buckets.take("key:1", 60) is None
    await buckets.refund("key:1", 0)
    assert await buckets.available("key:1") == 40.0
    await buckets.refund("key:1", 25)
    assert await buckets.available("key:1") == 65.0
    clock.now += 1
    await buckets.refund("key:1", 60)  # 75 by now, and 60 more: capped at the bucket
    assert await buckets.available("key:1") == 100.0
