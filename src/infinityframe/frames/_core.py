"""What the ``.infinity`` verbs do, once, for pandas and polars alike.

The pandas accessor and the polars namespace only adapt their frame type to these functions
and back; they hold no logic and no state. Every verb returns a new frame.

Session resolution (DESIGN.md): the explicit ``session=``; else the live session that
produced the frame (frames carry ``server`` and ``generator`` in ``attrs["infinity"]``, never
the token); else the most recently created Session; else a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..errors import InfinityError, ValidationError

if TYPE_CHECKING:

    from ..client.batch import Batch
    from ..client.session import Session
    from ..params.spec import GeneratorSpec
    from ..results import Results

__all__ = ["resolve_session"]

Frame = Any  # pandas or polars DataFrame


def resolve_session(session: Session | None, attrs: dict[str, Any] | None = None) -> Session:
    """The session a verb should use; see the module docstring."""
    from ..client.session import find_session, latest_session

    if session is not None:
        return session
    origin = (attrs or {}).get("infinity") or {}
    if origin.get("server") and origin.get("generator"):
        found = find_session(origin["server"], origin["generator"])
        if found is not None:
            return found
    latest = latest_session()
    if latest is not None:
        return latest
    raise InfinityError(
        "No session for this frame: pass session=..., or create one first, e.g. "
        "sesh = inf.Session.local('stickfit-v0.1.0') or inf.Session(token, generator, server).")


def is_polars(df: Frame) -> bool:
    module = type(df).__module__
    return module.startswith("polars")


def to_pandas(df: Frame) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        return df
    if is_polars(df):
        converted: pd.DataFrame = df.to_pandas()
        return converted
    raise InfinityError(f"Expected a pandas or polars DataFrame, got {type(df).__name__}.")


def like(template: Frame, result: pd.DataFrame, attrs: dict[str, Any] | None = None) -> Frame:
    """``result`` as the same kind of frame as ``template`` (pandas keeps ``attrs``)."""
    if isinstance(template, pd.DataFrame):
        if attrs is not None:
            result.attrs["infinity"] = dict(attrs)
        return result
    import polars as pl

    return pl.from_pandas(result)


def origin_attrs(df: Frame, session: Session) -> dict[str, Any]:
    kept = dict(getattr(df, "attrs", {}).get("infinity", {})) if isinstance(df, pd.DataFrame) else {}
    return {**kept, **session._attrs()}


# -- the verbs ------------------------------------------------------------------------------------

def fill(df: Frame, session: Session | None, *, seed: Any = None,
         method: Literal["uniform", "lhs", "sobol"] = "uniform",
         constraints: Sequence[Any] = (), advisory: bool = True) -> Frame:
    from ..params.sampling import fill as fill_frame

    sesh = resolve_session(session, getattr(df, "attrs", None))
    result = fill_frame(to_pandas(df), sesh.spec, seed=seed, method=method, constraints=constraints,
                        advisory=advisory)
    return like(df, result, origin_attrs(df, sesh))


def with_defaults(df: Frame, session: Session | None) -> Frame:
    from ..params.sampling import with_defaults as defaults

    sesh = resolve_session(session, getattr(df, "attrs", None))
    return like(df, defaults(to_pandas(df), sesh.spec), origin_attrs(df, sesh))


def _check_preview(sesh: Session, preview: bool) -> None:
    if preview and not sesh.supports_preview:
        raise ValidationError(f"{sesh.generator} does not render previews: use preview=False "
                              "(nothing was sent to the service).")


def validate(df: Frame, session: Session | None, *, preview: bool = False,
             constraints: Sequence[Any] = ()) -> Frame:
    from ..params.schema import validate_frame

    sesh = resolve_session(session, getattr(df, "attrs", None))
    _check_preview(sesh, preview)
    result = validate_frame(df, sesh.spec, constraints)
    if isinstance(result, pd.DataFrame):
        result.attrs["infinity"] = origin_attrs(df, sesh)
    return result


def errors(df: Frame, session: Session | None, *, constraints: Sequence[Any] = ()) -> pd.DataFrame:
    from ..params.schema import failure_cases

    sesh = resolve_session(session, getattr(df, "attrs", None))
    return failure_cases(df, sesh.spec, constraints)


def jobs_for_service(df: Frame, sesh: Session, preview: bool) -> list[dict[str, Any]]:
    """Validated, default-completed jobs as plain dicts, in frame order."""
    from ..params.sampling import with_defaults as defaults

    validated = to_pandas(validate(df, sesh, preview=preview))
    complete = defaults(validated, sesh.spec)[sesh.spec.names]
    records = complete.astype(object).where(complete.notna(), None).to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()} for row in records]


def estimate(df: Frame, session: Session | None, *, preview: bool = False) -> Frame:
    sesh = resolve_session(session, getattr(df, "attrs", None))
    estimates = sesh.estimate(df, preview=preview)
    result = to_pandas(df).copy()
    result["estimated_samples"] = np.asarray(estimates, dtype=np.int64)
    return like(df, result, origin_attrs(df, sesh))


def submit(df: Frame, session: Session | None, *, name: str | None = None, preview: bool = False,
           mode: Literal["cached", "force"] = "cached", max_samples: int | None = None) -> Batch:
    sesh = resolve_session(session, getattr(df, "attrs", None))
    return sesh.submit(df, preview=preview, name=name, mode=mode, max_samples=max_samples)


def dry_run(df: Frame, session: Session | None, *, preview: bool = False, name: str | None = None) -> Any:
    from ..client.dryrun import as_dry_run, dry_run_frame

    sesh = resolve_session(session, getattr(df, "attrs", None))
    result, summary = dry_run_frame(to_pandas(df), sesh, preview=preview, name=name)
    result.attrs["infinity"] = origin_attrs(df, sesh)
    return as_dry_run(result, summary, polars=is_polars(df))


def join(df: Frame, results: Results, *, level: str = "objects", on: str | Sequence[str] | None = None,
         session: Session | None = None) -> Frame:
    """:func:`infinityframe.results.join.join`, by ``job_id`` or, without it, by the rows' content.

    Matching by content needs the generator's parameters (to complete each row with the
    defaults, as the service did): those of ``session``, else of the live session that made
    the frame, else the metadata of the results' generator when this installation knows it.
    """
    from ..results.join import join as join_table

    spec = None if on is not None or "job_id" in df.columns else _join_spec(df, session)
    return join_table(df, results, level=level, on=on, spec=spec)


def _join_spec(df: Frame, session: Session | None) -> GeneratorSpec | None:
    from ..client.session import find_session

    if session is not None:
        return session.spec
    origin = (getattr(df, "attrs", None) or {}).get("infinity") or {}
    if origin.get("server") and origin.get("generator"):
        found = find_session(origin["server"], origin["generator"])
        if found is not None:
            return found.spec
        from ..results.casting import _spec

        return _spec(origin["generator"])  # None for a generator unknown here: the results' own, then
    return None  # the results' generator, if known here (never "whichever session was made last")


def coverage(df: Frame, session: Session | None) -> pd.DataFrame:
    from ..params.coverage import coverage as measure

    sesh = resolve_session(session, getattr(df, "attrs", None))
    result = measure(to_pandas(df), sesh.spec)
    result.attrs["infinity"] = origin_attrs(df, sesh)
    return result
