"""What the ``.infinity`` verbs do, once, for pandas and polars alike.

The pandas accessor and the polars namespace only adapt their frame type to these functions
and back; they hold no logic and no state. Every verb returns a new frame.

Session resolution (DESIGN.md): the explicit ``session=``; else the live session that
produced the frame (pandas frames carry ``server`` and ``generator`` in ``attrs["infinity"]``,
never the token); else the default set by ``inf.use(sesh)``; else, for the verbs that spend
nothing, the most recently created Session; else a clear error. ``submit`` spends samples, so
it never takes the most recent Session on trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..errors import InfinityError, ValidationError

if TYPE_CHECKING:

    from ..client.batch import Batch
    from ..client.dryrun import DryRunSummary
    from ..client.session import Session
    from ..params.spec import GeneratorSpec
    from ..results import Results

__all__ = ["resolve_session"]

Frame = Any  # pandas or polars DataFrame


def resolve_session(session: Session | None, attrs: dict[str, Any] | None = None, *,
                    spending: bool = False) -> Session:
    """The session a verb should use; see the module docstring.

    ``spending``: the verb spends samples (``submit``), so it takes only a session it was
    given, the one its frame came from, or the one :func:`~infinityframe.use` made the default,
    never whichever Session happened to be created last.
    """
    from ..client.session import current_session, find_session, latest_session

    if session is not None:
        if session.closed:
            raise InfinityError(f"{session!r} is closed: pass an open session.")
        return session
    origin = (attrs or {}).get("infinity") or {}
    if origin.get("server") and origin.get("generator"):
        found = find_session(origin["server"], origin["generator"])
        if found is not None:
            return found
        if spending:
            raise InfinityError(
                f"This frame came from {origin['generator']} at {origin['server']}, and no open session to it "
                "is left: pass session=... (or inf.use(sesh)) to say where to submit, so that nothing is spent "
                "on another service by mistake.")
    chosen = current_session()
    if chosen is not None:
        return chosen
    latest = latest_session()
    if latest is not None and not spending:
        return latest
    if latest is not None:
        raise InfinityError(
            f"Submitting spends samples, so it needs to be told where: pass session=..., or make one the "
            f"default with inf.use(sesh) (the most recent session, {latest!r}, is not assumed). Frames made by "
            "a session's sample/grid/rerun (pandas) remember it.")
    raise InfinityError(
        "No session for this frame: pass session=... or make one the default with inf.use(sesh), after "
        "creating it, e.g. sesh = inf.Session.local('stickfit-v0.1.0') or inf.Session(token, generator, server).")


def is_polars(df: Frame) -> bool:
    module = type(df).__module__
    return module.startswith("polars")


def is_lazy(df: Frame) -> bool:
    return is_polars(df) and type(df).__name__ == "LazyFrame"


def collected(df: Frame) -> Any:
    """A pandas or polars DataFrame: a LazyFrame is collected (for the verbs that must see its rows)."""
    if isinstance(df, pd.DataFrame):
        return df
    if is_lazy(df):
        return df.collect()
    if is_polars(df) and type(df).__name__ == "DataFrame":
        return df
    raise InfinityError(f"Expected a pandas DataFrame or a polars DataFrame or LazyFrame, got {type(df).__name__}.")


def as_caller(template: Frame, result: Any) -> Frame:
    """A polars result as the caller's kind: lazy again for a LazyFrame caller."""
    return result.lazy() if is_lazy(template) else result


def with_attrs(result: pd.DataFrame, attrs: dict[str, Any]) -> pd.DataFrame:
    result.attrs["infinity"] = dict(attrs)
    return result


def failure_table(failures: pd.DataFrame, template: Frame) -> Frame:
    """The failure table in the caller's library (polars: row Int64, value Object; see ``_polars``)."""
    if isinstance(template, pd.DataFrame):
        return failures
    from ._polars import failure_table as to_polars

    return as_caller(template, to_polars(failures))


def origin_attrs(df: Frame, session: Session) -> dict[str, Any]:
    kept = dict(getattr(df, "attrs", {}).get("infinity", {})) if isinstance(df, pd.DataFrame) else {}
    return {**kept, **session.frame_attrs()}


# -- the verbs ------------------------------------------------------------------------------------
# pandas frames keep their index and gain ``attrs["infinity"]``; polars frames are built with
# polars (``_polars``), in their own dtypes; a LazyFrame stays lazy where the verb is a plain
# expression (with_defaults), and is collected where the verb must see its rows.

def fill(df: Frame, session: Session | None, *, seed: Any = None,
         method: Literal["uniform", "lhs", "sobol"] = "uniform",
         constraints: Sequence[Any] = (), advisory: bool = True,
         prior: Literal["recommended", "uniform"] = "recommended") -> Frame:
    sesh = resolve_session(session, getattr(df, "attrs", None))
    if isinstance(df, pd.DataFrame):
        from ..params.sampling import fill as fill_frame

        result = fill_frame(df, sesh.spec, seed=seed, method=method, constraints=constraints, advisory=advisory,
                            prior=prior)
        return with_attrs(result, origin_attrs(df, sesh))
    from ._polars import fill as fill_polars

    # Draws depend on each row's position and on the given cells (constraints), so a LazyFrame is collected.
    filled = fill_polars(collected(df), sesh.spec, seed=seed, method=method, constraints=constraints,
                         advisory=advisory, prior=prior)
    return as_caller(df, filled)


def with_defaults(df: Frame, session: Session | None) -> Frame:
    sesh = resolve_session(session, getattr(df, "attrs", None))
    if isinstance(df, pd.DataFrame):
        from ..params.sampling import with_defaults as defaults

        return with_attrs(defaults(df, sesh.spec), origin_attrs(df, sesh))
    from ._polars import with_defaults as defaults_polars

    collected(df.head(0))  # the type check, without running a lazy query
    return defaults_polars(df, sesh.spec)


def _check_preview(sesh: Session, preview: bool) -> None:
    if preview and not sesh.supports_preview:
        raise ValidationError(f"{sesh.generator} does not render previews: use preview=False "
                              "(nothing was sent to the service).")


def validate(df: Frame, session: Session | None, *, preview: bool = False,
             constraints: Sequence[Any] = ()) -> Frame:
    from ..params.schema import validate_frame

    sesh = resolve_session(session, getattr(df, "attrs", None))
    _check_preview(sesh, preview)
    frame = collected(df)  # checking needs the rows: a LazyFrame is collected
    try:
        result = validate_frame(frame, sesh.spec, constraints)
    except ValidationError as err:
        if err.failure_cases is not None and not isinstance(df, pd.DataFrame):
            err.failure_cases = failure_table(err.failure_cases, frame)  # what errors() returns
        raise
    if isinstance(result, pd.DataFrame):
        return with_attrs(result, origin_attrs(df, sesh))
    return as_caller(df, result)


def errors(df: Frame, session: Session | None, *, constraints: Sequence[Any] = ()) -> Frame:
    from ..params.schema import failure_cases

    sesh = resolve_session(session, getattr(df, "attrs", None))
    return failure_table(failure_cases(collected(df), sesh.spec, constraints), df)


def take(df: Any, positions: Sequence[int]) -> Any:
    """The rows at ``positions`` of a pandas or polars DataFrame."""
    if isinstance(df, pd.DataFrame):
        return df.iloc[list(positions)]
    return df[list(positions)]


def estimate(df: Frame, session: Session | None, *, preview: bool = False) -> Frame:
    sesh = resolve_session(session, getattr(df, "attrs", None))
    frame = collected(df)  # the service estimates rows: a LazyFrame is collected
    estimates = np.asarray(sesh.estimate(frame, preview=preview), dtype=np.int64)
    if isinstance(frame, pd.DataFrame):
        return with_attrs(frame.assign(estimated_samples=estimates), origin_attrs(df, sesh))
    import polars as pl

    return as_caller(df, frame.with_columns(pl.Series("estimated_samples", estimates, dtype=pl.Int64)))


def submit(df: Frame, session: Session | None, *, name: str | None = None, preview: bool = False,
           mode: Literal["cached", "force"] = "cached", max_samples: int | None = None) -> Batch:
    sesh = resolve_session(session, getattr(df, "attrs", None), spending=True)
    return sesh.submit(collected(df), preview=preview, name=name, mode=mode, max_samples=max_samples)


def _dry_run(df: Frame, session: Session | None, preview: bool, name: str | None) -> tuple[Frame, DryRunSummary]:
    from ..client.dryrun import DRY_RUN_COLUMNS, dry_run_frame

    sesh = resolve_session(session, getattr(df, "attrs", None))
    frame = collected(df)
    if isinstance(frame, pd.DataFrame):
        result, summary = dry_run_frame(frame, sesh, preview=preview, name=name)
        return with_attrs(result, origin_attrs(df, sesh)), summary
    # polars: the rows are read through pandas, the answer is the caller's frame, its columns and
    # dtypes as they were, with the dry run's columns added.
    checked, summary = dry_run_frame(frame.to_pandas(), sesh, preview=preview, name=name)
    import polars as pl

    stale = [c for c in DRY_RUN_COLUMNS if c in frame.columns and c not in sesh.spec.names]
    native = frame.drop(stale).hstack(pl.from_pandas(checked[list(DRY_RUN_COLUMNS)]))
    return as_caller(df, native), summary


def dry_run(df: Frame, session: Session | None, *, preview: bool = False, name: str | None = None) -> Frame:
    return _dry_run(df, session, preview, name)[0]


def dry_run_summary(df: Frame, session: Session | None, *, preview: bool = False,
                    name: str | None = None) -> DryRunSummary:
    return _dry_run(df, session, preview, name)[1]


def join(df: Frame, results: Results, *, level: str = "objects", on: str | Sequence[str] | None = None,
         session: Session | None = None) -> Frame:
    """:func:`infinityframe.results.join.join`, by ``job_id`` or, without it, by the rows' content.

    Matching by content needs the generator's parameters (to complete each row with the
    defaults, as the service did): those of ``session``, else of the live session that made
    the frame, else the metadata of the results' generator when this installation knows it.
    """
    from ..results.join import join as join_table

    frame = collected(df)  # the rows are matched to jobs: a LazyFrame is collected
    spec = None if on is not None or "job_id" in frame.columns else _join_spec(frame, session)
    return as_caller(df, join_table(frame, results, level=level, on=on, spec=spec))


def _join_spec(df: Frame, session: Session | None) -> GeneratorSpec | None:
    from ..client.session import find_session

    if session is not None:
        return session.spec
    origin = (getattr(df, "attrs", None) or {}).get("infinity") or {}
    if origin.get("server") and origin.get("generator"):
        found = find_session(origin["server"], origin["generator"])
        if found is not None:
            return found.spec
        from ..results.casting import known_spec

        return known_spec(origin["generator"])  # None for a generator unknown here: the results' own, then
    return None  # the results' generator, if known here (never "whichever session was made last")


def coverage(df: Frame, session: Session | None) -> Frame:
    from ..params.coverage import coverage as measure

    sesh = resolve_session(session, getattr(df, "attrs", None))
    frame = collected(df)
    if isinstance(frame, pd.DataFrame):
        return with_attrs(measure(frame, sesh.spec), origin_attrs(df, sesh))
    import polars as pl

    # The measure reads each parameter column as numpy; only the parameter columns cross over.
    present = [name for name in sesh.spec.names if name in frame.columns]
    table = measure(frame.select(present).to_pandas(), sesh.spec)
    # A polars list holds one type: the missing choices (text, numbers or booleans) as text.
    missing = [None if m is None else [str(v) for v in m] for m in table["missing_choices"].tolist()]
    result = pl.from_pandas(table.drop(columns="missing_choices")).insert_column(
        table.columns.get_loc("missing_choices"), pl.Series("missing_choices", missing, dtype=pl.List(pl.String)))
    return as_caller(df, result)
