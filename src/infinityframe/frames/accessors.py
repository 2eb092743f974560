"""``DataFrame.infinity`` for pandas and polars: the same verbs, adapting to ``frames._core``.

Both are registered when ``infinityframe`` is imported. They hold no state (pandas builds a
new accessor on every attribute access) and never mutate the frame they are called on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import pandas as pd
import polars as pl

from . import _core

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..client.batch import Batch
    from ..client.dryrun import DryRunSummary
    from ..client.session import Session
    from ..results import Results

__all__ = ["PandasInfinity", "PolarsInfinity"]

F = TypeVar("F", pd.DataFrame, pl.DataFrame, pl.LazyFrame)
Method = Literal["uniform", "lhs", "sobol"]
Prior = Literal["recommended", "uniform"]


class _Infinity(Generic[F]):
    """The ``.infinity`` verbs; ``session=None`` resolves as DESIGN.md says."""

    def __init__(self, df: F) -> None:
        self._df: F = df

    def fill(self, session: Session | None = None, *, seed: Any = None, method: Method = "uniform",
             constraints: Sequence[Any] = (), advisory: bool = True, prior: Prior = "recommended") -> F:
        """Sample the missing parameter columns and the missing cells; given cells are kept.

        Cells are drawn from the generator's recommended distributions, as ``sesh.sample`` draws
        them, or over each parameter's whole range with ``prior="uniform"``. The generator's
        advisory constraints are honoured unless ``advisory=False``.

        Examples
        --------
        >>> filled = pd.DataFrame({"exercise": ["SQUAT", "LUNGE"]}).infinity.fill(sesh, seed=0)
        >>> filled["exercise"].tolist(), sorted(filled.columns) == sorted(sesh.spec.names)
        (['SQUAT', 'LUNGE'], True)
        """
        result: F = _core.fill(self._df, session, seed=seed, method=method, constraints=constraints,
                               advisory=advisory, prior=prior)
        return result

    def with_defaults(self, session: Session | None = None) -> F:
        """Every missing parameter column and cell set to its default."""
        result: F = _core.with_defaults(self._df, session)
        return result

    def validate(self, session: Session | None = None, *, preview: bool = False,
                 constraints: Sequence[Any] = ()) -> F:
        """The frame with lossless dtype coercions, or :class:`~infinityframe.ValidationError`.

        The error's message shows the first failures; ``.failure_cases`` holds them all (the
        frame :meth:`errors` returns).
        """
        result: F = _core.validate(self._df, session, preview=preview, constraints=constraints)
        return result

    def errors(self, session: Session | None = None, *, constraints: Sequence[Any] = ()) -> F:
        """One row per failure: ``row``, ``column``, ``check``, ``value``, ``message`` (empty when valid).

        In the frame's own library: pandas for pandas (``row`` is the index label), polars for
        polars (``row`` is the row number, ``value`` an Object column holding the cells as given).
        """
        result: F = _core.errors(self._df, session, constraints=constraints)
        return result

    def estimate(self, session: Session | None = None, *, preview: bool = False) -> F:
        """The frame with ``estimated_samples``, the samples each job will cost (nothing is created)."""
        result: F = _core.estimate(self._df, session, preview=preview)
        return result

    def submit(self, session: Session | None = None, *, name: str | None = None, preview: bool = False,
               mode: Literal["cached", "force"] = "cached", max_samples: int | None = None) -> Batch:
        """Validate and submit the frame as one batch; ``mode="cached"`` never pays twice for the same frame.

        ``max_samples`` refuses (:class:`~infinityframe.SpendCapError`, nothing charged) when the
        estimate is above it, or above the session's cap or ``$INFINITYFRAME_MAX_SAMPLES`` (the strictest binds).

        Examples
        --------
        >>> sweep = jobs.infinity.submit(name="sweep", preview=True, max_samples=10_000)
        >>> sweep.num_jobs, sweep.preview
        (2, True)
        >>> jobs.infinity.submit(name="sweep", preview=True).id == sweep.id  # run again: reattached, nothing paid
        True
        """
        return _core.submit(self._df, session, name=name, preview=preview, mode=mode, max_samples=max_samples)

    def dry_run(self, session: Session | None = None, *, preview: bool = False, name: str | None = None) -> F:
        """What submitting the frame would do and cost, without submitting it or charging anything.

        One row per job, a plain frame of the caller's library: the frame plus
        ``estimated_samples``, ``valid``, ``problem`` (the first failure messages),
        ``already_submitted``, ``submitted_batch_id``, ``submitted_status`` and ``duplicate_of``
        (the 0-based position of an earlier row with the same job). The totals — jobs new /
        already submitted / duplicated / invalid, and the samples against the balance — are
        :meth:`dry_run_summary`'s.

        Examples
        --------
        >>> dry = jobs.infinity.dry_run(preview=True, name="doctest previews")  # submitted as ``batch``
        >>> dry["already_submitted"].tolist(), type(dry) is pd.DataFrame
        ([True, True], True)
        >>> new = jobs[dry["valid"] & ~dry["already_submitted"] & dry["duplicate_of"].isna()]
        >>> len(new)
        0
        """
        result: F = _core.dry_run(self._df, session, preview=preview, name=name)
        return result

    def dry_run_summary(self, session: Session | None = None, *, preview: bool = False,
                        name: str | None = None) -> DryRunSummary:
        """The totals of :meth:`dry_run`: what submitting would create, reattach and charge.

        A :class:`~infinityframe.client.dryrun.DryRunSummary`: its fields (``new``,
        ``already_submitted``, ``duplicated``, ``invalid``, ``estimated_samples``,
        ``new_samples``, ``balance``, ``max_samples``, ``reattach_batch_id``) and, printed or
        shown in a notebook, the same as text. It runs the dry run again (nothing is charged).

        Examples
        --------
        >>> summary = jobs.infinity.dry_run_summary(preview=True, name="doctest previews")
        >>> summary.already_submitted, summary.reattach_batch_id == batch.id
        (2, True)
        >>> print(summary)                                   # doctest: +ELLIPSIS
        dry run of 2 previews for stickfit-v0.1.0: 0 new · 2 already submitted · 0 duplicated · 0 invalid
        ...
        """
        return _core.dry_run_summary(self._df, session, preview=preview, name=name)

    def join(self, results: Results, level: Literal["jobs", "frames", "objects", "keypoints"] = "objects",
             on: str | Sequence[str] | None = None, *, session: Session | None = None) -> F:
        """This frame (e.g. ``batch.jobs``, or the frame that was submitted) joined with a results table.

        A left join: every row of the table, with this frame's own columns added (where both
        have a column, the table's value wins). On ``job_id`` when the frame has it (or on
        ``on=``); else each row is matched to the jobs with the same parameters, completed
        with the generator's defaults as the service completed them (``session=`` says whose,
        when neither the frame's own session nor the results' generator is known here).
        Identical rows share their identical jobs out one each; a row that matches no job
        adds no row. See :func:`infinityframe.results.join.join`.

        Examples
        --------
        >>> res = batch.results("doctest-results")
        >>> len(batch.jobs.infinity.join(res, level="frames"))   # a preview is one frame
        2
        >>> bool(jobs.infinity.join(res, level="jobs")["job_id"].isin(batch.job_ids).all())  # the submitted frame
        True
        """
        result: F = _core.join(self._df, results, level=level, on=on, session=session)
        return result

    def coverage(self, session: Session | None = None) -> F:
        """How well the frame covers each parameter's range or choices (and the centred L2 discrepancy).

        See :func:`infinityframe.params.coverage.coverage`; a polars frame gets a polars table.
        """
        result: F = _core.coverage(self._df, session)
        return result

    def plot(self, session: Session | None = None) -> Figure:
        """A seaborn grid of each parameter's distribution; see :func:`infinityframe.plots.params_figure`.

        Examples
        --------
        >>> sesh.sample(100, seed=0, method="lhs").infinity.plot().savefig("sweep.png")
        """
        from ..plots import params_figure

        return params_figure(_core.collected(self._df),
                             _core.resolve_session(session, getattr(self._df, "attrs", None)).spec)


@pd.api.extensions.register_dataframe_accessor("infinity")
class PandasInfinity(_Infinity[pd.DataFrame]):
    """``pandas.DataFrame.infinity``.

    Examples
    --------
    >>> estimated = sesh.sample(50, seed=1).infinity.validate().infinity.estimate()
    >>> bool((estimated["estimated_samples"] > 0).all())
    True
    """


@pl.api.register_dataframe_namespace("infinity")
class PolarsInfinity(_Infinity[pl.DataFrame]):
    """``polars.DataFrame.infinity``: the pandas verbs, on polars frames.

    Polars frames carry no ``attrs``: ``session=None`` means the ``inf.use`` default, else the
    most recent Session (``submit`` needs one of the first two).

    Examples
    --------
    >>> pl.from_pandas(jobs).infinity.errors(sesh).height   # valid jobs: an empty failure table
    0
    """


@pl.api.register_lazyframe_namespace("infinity")
class PolarsLazyInfinity(_Infinity[pl.LazyFrame]):
    """``polars.LazyFrame.infinity``: the same verbs on a lazy query, answering lazily.

    ``with_defaults`` adds expressions to the query and runs nothing; the verbs that must see
    the rows (``validate``, ``errors``, ``fill``, ``estimate``, ``dry_run``, ``join``,
    ``coverage``) collect it once and return their result as a LazyFrame; ``submit`` returns
    its Batch and ``plot`` its figure.

    Examples
    --------
    >>> lazy = pl.LazyFrame({"num_reps": [2, 3]}, schema={"num_reps": pl.Int32}).infinity.with_defaults(sesh)
    >>> checked = lazy.infinity.validate(sesh)     # collected once, answered lazily
    >>> type(checked).__name__, checked.collect().schema["num_reps"]
    ('LazyFrame', Int32)
    """
