"""Retry delays: exponential with jitter, so a shop's boxes never retry in lockstep."""
import random


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Delay before retry `attempt` (1, 2, ...): "equal jitter", half fixed, half random.

    Half fixed keeps a floor under the delay (no hot loop against a dead cloud);
    half random spreads many gateways coming back after the same outage.
    """
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
