"""The sliding-window quota on its own: Azure's TPM/RPM arithmetic."""

from __future__ import annotations

from simulator.quota import WINDOW_SECONDS, SlidingWindowQuota


def test_admits_until_tpm_then_says_exactly_when_it_fits() -> None:
    quota = SlidingWindowQuota(tpm=1000, rpm=100)
    assert quota.try_admit(400, now=0.0).remaining_tokens == 600
    assert quota.try_admit(400, now=10.0).remaining_tokens == 200

    refused = quota.try_admit(400, now=20.0)

    assert not refused.admitted
    assert refused.limit == "tokens"
    assert refused.remaining_tokens == 200
    # Only the first charge has to expire: at 0 + 60.
    assert refused.retry_after == 40.0


def test_retry_after_waits_for_as_many_charges_as_needed() -> None:
    quota = SlidingWindowQuota(tpm=1000, rpm=100)
    for t in (0.0, 5.0, 10.0):
        assert quota.try_admit(300, now=t).admitted

    assert quota.try_admit(700, now=30.0).retry_after == 35.0  # 0 and 5 must both expire


def test_window_slides_after_sixty_seconds() -> None:
    quota = SlidingWindowQuota(tpm=1000, rpm=100)
    quota.try_admit(1000, now=0.0)
    assert not quota.try_admit(1, now=WINDOW_SECONDS - 0.001).admitted

    back = quota.try_admit(1000, now=WINDOW_SECONDS)

    assert back.admitted
    assert back.remaining_tokens == 0


def test_rpm_limits_requests_whatever_their_size() -> None:
    quota = SlidingWindowQuota(tpm=1_000_000, rpm=2)
    quota.try_admit(1, now=0.0)
    quota.try_admit(1, now=1.0)

    refused = quota.try_admit(1, now=2.0)

    assert (refused.admitted, refused.limit) == (False, "requests")
    assert refused.remaining_requests == 0
    assert refused.retry_after == 58.0


def test_a_request_larger_than_tpm_is_refused_even_when_idle() -> None:
    quota = SlidingWindowQuota(tpm=1000, rpm=10)

    refused = quota.try_admit(1001, now=0.0)

    assert not refused.admitted
    assert refused.remaining_tokens == 1000
    assert refused.retry_after == WINDOW_SECONDS


def test_refused_requests_are_not_charged() -> None:
    quota = SlidingWindowQuota(tpm=100, rpm=10)
    quota.try_admit(90, now=0.0)
    quota.try_admit(50, now=1.0)

    assert quota.remaining(now=2.0) == (10, 9)
