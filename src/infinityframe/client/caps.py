"""Spend caps: refuse a submission whose estimate is over a cap, before anything is charged.

A cap can be set in three places: the call's ``max_samples=``, the session's
(``Session(..., max_samples=N)`` or ``sesh.max_samples = N``) and the environment variable
``INFINITYFRAME_MAX_SAMPLES``, which every session in the process honours. The strictest cap
that is set binds: a call's ``max_samples=`` can only tighten a session or environment cap,
never loosen it, so a cap set for the process really covers every submission in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InfinityError, SpendCapError

__all__ = ["ENV_VAR", "Cap", "check_cap", "resolve_cap"]

ENV_VAR = "INFINITYFRAME_MAX_SAMPLES"


@dataclass(frozen=True)
class Cap:
    """A cap and where it was set."""

    limit: int
    source: str  # "max_samples", "session" or ENV_VAR

    def how_to_raise(self, estimate: int) -> str:
        if self.source == "max_samples":
            return f"pass max_samples={estimate} (or more) to go ahead"
        if self.source == "session":
            return f"raise the session's cap (sesh.max_samples = {estimate})"
        return f"raise or unset the environment variable {ENV_VAR} (to {estimate} or more)"

    @property
    def where(self) -> str:
        """Where the cap was set, in words."""
        return {"max_samples": "max_samples", "session": "the session's max_samples"}.get(self.source, f"${ENV_VAR}")

    def describe(self) -> str:
        return f"{self.limit:,} samples (set by {self.where})"


def _checked(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InfinityError(f"{where} must be a whole number of samples ≥ 0, not {value!r}.")
    return value


def resolve_cap(per_call: int | None, session_cap: int | None) -> Cap | None:
    """The strictest cap a submission must respect, if any (see the module docstring)."""
    caps = []
    if per_call is not None:
        caps.append(Cap(_checked(per_call, "max_samples"), "max_samples"))
    if session_cap is not None:
        caps.append(Cap(_checked(session_cap, "Session max_samples"), "session"))
    raw = os.environ.get(ENV_VAR, "").strip().replace("_", "").replace(",", "")
    if raw:
        try:
            caps.append(Cap(_checked(int(raw), ENV_VAR), ENV_VAR))
        except ValueError as err:
            raise InfinityError(
                f"${ENV_VAR} must be a whole number of samples, not {raw!r}; fix or unset it.") from err
    # min() keeps the first of equal limits, so the most specific source is named on a tie.
    return min(caps, key=lambda cap: cap.limit, default=None)


def check_cap(cap: Cap | None, estimate: int, what: str) -> None:
    """Raise :class:`SpendCapError` when ``estimate`` is over ``cap``; ``what`` names the submission."""
    if cap is None or estimate <= cap.limit:
        return
    raise SpendCapError(
        f"{what} is estimated at {estimate:,} samples, over the spend cap of {cap.describe()}. "
        f"Nothing was submitted or charged. To submit it, {cap.how_to_raise(estimate)}; or submit fewer jobs "
        "(df.infinity.dry_run() shows what each costs).",
        estimate=estimate, cap=cap.limit, source=cap.source)
