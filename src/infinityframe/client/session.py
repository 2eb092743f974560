"""``Session``: one token, one generator, one server — the cloud or the local service.

The constructor makes exactly one request (the generator's metadata), as infinity-core's does.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
from requests.adapters import BaseAdapter

from ..errors import BatchNotFoundError, GeneratorNotFoundError, InfinityError, ValidationError
from ..params.jobs import service_jobs
from ..params.rules import validate_jobs
from ..params.spec import GeneratorSpec
from ._api import Api
from ._compat import InfinityCoreNames
from ._http import RetryPolicy, Transport
from ._limits import Limits
from .batch import Batch
from .caps import check_cap, resolve_cap
from .local_services import local_services
from .records import JobRecord, SubmissionRecords, content_key, job_key, origin

__all__ = ["DEFAULT_SERVER", "Session", "current_session", "generators", "latest_session", "use"]

DEFAULT_SERVER = "https://api.toinfinity.ai"
JobParams = dict[str, Any]
ESTIMATE_CHUNK = 5_000

class _Sessions:
    """The live sessions, newest last, as weak references: the default of last resort and each
    frame's way back to the session that made it. A closed session is skipped, so closing one
    never hides an older one that is still open."""

    def __init__(self) -> None:
        self._refs: list[weakref.ReferenceType[Session]] = []
        self._lock = threading.Lock()

    def add(self, session: Session) -> None:
        with self._lock:
            self._refs = [ref for ref in self._refs if ref() is not None] + [weakref.ref(session)]

    def newest(self, server: str | None = None, generator: str | None = None) -> Session | None:
        """The newest open session (for ``server`` and ``generator`` when given)."""
        with self._lock:
            refs = list(self._refs)
        for ref in reversed(refs):
            found = ref()
            if found is None or found.closed:
                continue
            if server is None or (found.server == server and found.generator == generator):
                return found
        return None


_sessions = _Sessions()


_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar("infinityframe_session", default=None)


class use:
    """Make ``session`` the default of the ``.infinity`` verbs, for the rest of this context or,
    as a ``with`` block, until it ends.

    A verb uses its ``session=``, else the session its frame came from, else this one; only
    then, for the verbs that spend nothing, the most recently created Session. ``submit``
    never falls back that far: it would spend samples on whichever service was met last.

    Examples
    --------
    >>> with inf.use(sesh):                   # a polars frame carries no session of its own
    ...     used = pl.from_pandas(jobs).infinity.submit(name="sweep", preview=True)
    >>> used.generator
    'stickfit-v0.1.0'
    """

    def __init__(self, session: Session) -> None:
        if not isinstance(session, Session):
            raise TypeError(f"inf.use() takes a Session, not {type(session).__name__}")
        self.session = session
        self._token = _current.set(session)

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._token)


def current_session() -> Session | None:
    """The session :func:`use` made the default here, if any (and still open)."""
    found = _current.get()
    return found if found is not None and not found.closed else None


def latest_session() -> Session | None:
    """The most recently created Session still alive and open, if any."""
    return _sessions.newest()


def find_session(server: str, generator: str) -> Session | None:
    """The most recent live, open Session for this server and generator, if any."""
    return _sessions.newest(server.rstrip("/"), generator)


def _resolve_token(token: str | None) -> str:
    token = token if token is not None else os.environ.get("INFINITY_TOKEN")
    if not token:
        from ..errors import AuthenticationError

        raise AuthenticationError("No token: pass `token=` or set the INFINITY_TOKEN environment variable "
                                  "(for the embedded service, use inf.Session.local()).")
    return token


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars, so jobs serialise as the API expects."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict, str)) else value


class Session(InfinityCoreNames):
    """A conversation with an Infinity service about one generator.

    Parameters
    ----------
    token : str, optional
        The account's API key; ``$INFINITY_TOKEN`` when omitted. Never shown in reprs,
        logs or errors.
    generator : str
        The generator's name, e.g. ``"stickfit-v0.1.0"`` or ``"visionfit-v0.4.0"``.
    server : str
        The service's base URL; ``$INFINITY_SERVER``, else the Infinity cloud.
    timeout : float or (float, float)
        Connect and read timeouts of every request, in seconds.
    retry : RetryPolicy, optional
        How transient failures are retried.
    limits : Limits, optional
        The most a server may make the client read, unpack or wait for (reply and download
        sizes, archive members and ratio, an overall deadline per request and per download);
        see ``infinityframe.client.Limits``.
    max_samples : int, optional
        A spend cap for every submission of this session: a batch estimated above it is
        refused with :class:`~infinityframe.SpendCapError` before anything is charged.
        Settable later (``sesh.max_samples = N``). With ``$INFINITYFRAME_MAX_SAMPLES`` and a
        call's own ``max_samples=``, the strictest cap that is set binds.
    transport : requests.adapters.BaseAdapter, optional
        What carries the session's requests instead of the network, for every URL: e.g.
        ``infinityframe.client.asgi.ASGIAdapter(app)`` answers from an application in this
        process (see ``docs/testing.md``). The retry policy applies to it as to the network.

    Examples
    --------
    >>> import infinityframe as inf
    >>> sesh = inf.Session.local("stickfit-v0.1.0", data_dir="data")  # the embedded service on ./data
    >>> sesh.default_job["camera_distance"]
    3.0
    """

    def __init__(self, token: str | None = None, generator: str = "", server: str | None = None, *,
                 timeout: float | tuple[float, float] = (10.0, 120.0), retry: RetryPolicy | None = None,
                 limits: Limits | None = None, max_samples: int | None = None,
                 transport: BaseAdapter | None = None) -> None:
        resolve_cap(None, max_samples)  # a bad cap fails here, not at the first submission
        self.max_samples = max_samples
        if not generator:
            raise GeneratorNotFoundError("No generator given: pass its name, e.g. Session(token, "
                                         "'stickfit-v0.1.0'); inf.generators(token, server) lists them.")
        self.generator = generator
        self.server = (server or os.environ.get("INFINITY_SERVER") or DEFAULT_SERVER).rstrip("/")
        self._transport = Transport(self.server, _resolve_token(token), timeout=timeout, retry=retry, limits=limits,
                                    adapter=transport)
        self.api = Api(self._transport)  # the REST contract, one method per endpoint
        self._metadata: dict[str, Any] = self.api.generator(
            generator, not_found=lambda detail: GeneratorNotFoundError(
                f"No generator {generator!r} at {self.server} ({detail}). inf.generators(token, server) "
                "lists the ones this token may use."))
        self.records = SubmissionRecords()
        # What makes this the same service and account after a restart on another port (never the token).
        self.origin = origin(self.server, self.token, self._metadata.get("service_id"))
        _sessions.add(self)

    def __repr__(self) -> str:
        closed = ", closed" if self.closed else ""
        return f"Session(generator={self.generator!r}, server={self.server!r}{closed})"

    # -- lifetime ---------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: a closed session sends nothing more."""
        return self._transport.closed

    def close(self) -> None:
        """Close the session's connections; it is no longer anyone's default.

        Safe to call twice. Batches it made keep their ids; reattach with a new session
        (``sesh.batch(batch_id)``). The embedded service of :meth:`local` is shared by every
        session on its data dir and keeps running until the interpreter exits.

        Examples
        --------
        >>> with inf.Session(sesh.token, "stickfit-v0.1.0", server=sesh.server) as other:
        ...     other.estimate(jobs, preview=True)
        [1, 1]
        >>> other.closed
        True
        """
        self._transport.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token(self) -> str:
        """The API key (infinity-core compatibility; kept out of every repr)."""
        return self._transport.token

    # -- the generator ---------------------------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """The generator's metadata as the service sent it."""
        return self._metadata

    @property
    def parameter_info(self) -> dict[str, dict[str, Any]]:
        """``{name: {"type", "default_value", "options"}}``, as infinity-core gives it."""
        return {p["name"]: {"type": p["type"], "default_value": p.get("default_value"),
                            "options": p.get("options")}
                for p in self._metadata["params"]}

    @property
    def default_job(self) -> JobParams:
        """Every parameter at its default value."""
        return {p["name"]: p.get("default_value") for p in self._metadata["params"]}

    @property
    def supports_preview(self) -> bool:
        """Whether the generator renders previews (one-frame jobs)."""
        return bool((self._metadata.get("options") or {}).get("preview", False))

    @property
    def parameters(self) -> pd.DataFrame:
        """One row per parameter: name, type, default, min, max, choices, recommended, description.

        ``min``, ``max`` and ``choices`` are what the service accepts; ``recommended`` is the
        distribution :meth:`sample` draws the parameter from by default, as the generator
        recommends it (missing: over its whole range).

        Examples
        --------
        >>> yaw = sesh.parameters.set_index("name").loc["relative_camera_yaw_deg"]
        >>> float(yaw["min"]), float(yaw["max"]), yaw["recommended"]
        (-45.0, 45.0, 'uniform(-15, 15)')
        """
        recommended = {p.name: p.recommended for p in self.spec}
        rows = []
        for p in self._metadata["params"]:
            options = p.get("options") or {}
            prior = recommended.get(p["name"])
            rows.append({"name": p["name"], "type": p["type"], "default": p.get("default_value"),
                         "min": options.get("min"), "max": options.get("max"),
                         "choices": options.get("choices"), "recommended": None if prior is None else repr(prior),
                         "description": p.get("description", "")})
        frame = pd.DataFrame(rows, columns=["name", "type", "default", "min", "max", "choices", "recommended",
                                            "description"])
        frame.attrs["infinity"] = self.frame_attrs()
        return frame

    @functools.cached_property
    def spec(self) -> GeneratorSpec:
        """The generator's parameters and constraints, as the frame tools use them."""
        return GeneratorSpec.from_metadata(self._metadata)

    @functools.cached_property
    def schema(self) -> Any:
        """A pandera ``DataFrameSchema`` of a job frame: dtypes, ranges, choices, joint constraints.

        Unknown columns are refused (the package's own, such as ``estimated_samples``, are
        allowed); missing parameters are allowed, as they take their defaults.
        """
        from ..params.schema import build_schema

        return build_schema(self.spec)

    def _frame(self, frame: pd.DataFrame, backend: str) -> Any:
        frame.attrs["infinity"] = self.frame_attrs()
        if backend == "polars":
            from ..params.cells import polars_frame

            return polars_frame(frame)  # text choices as an Enum of the choices
        if backend != "pandas":
            raise InfinityError(f"backend must be 'pandas' or 'polars', not {backend!r}.")
        return frame

    def sample(self, n: int, *, seed: Any = None, method: Literal["uniform", "lhs", "sobol"] = "uniform",
               constraints: Sequence[Any] = (), backend: Literal["pandas", "polars"] = "pandas",
               advisory: bool = True, prior: Literal["recommended", "uniform"] = "recommended",
               **fixed: Any) -> Any:
        """``n`` jobs drawn from the generator's recommended distributions (else the parameters'
        ranges), honouring every joint constraint.

        Parameters
        ----------
        n : int
            Jobs to draw.
        seed : int or numpy.random.Generator, optional
            Makes every row reproducible; with ``method="uniform"`` or ``"sobol"``, more rows
            extend a sweep without changing the rows already drawn.
        method : {"uniform", "lhs", "sobol"}
            Independent draws, a Latin hypercube, or a scrambled Sobol sequence.
        constraints : sequence of str or callable
            Joint constraints beyond the generator's own (``"image_width == image_height"``).
        advisory : bool
            Honour the generator's advisory constraints (recommendations the service does not
            enforce, in :attr:`spec`'s ``advisory``); ``False`` draws anything the service accepts.
        prior : {"recommended", "uniform"}
            ``"recommended"``: each parameter you do not fix is drawn from the distribution the
            generator recommends for it (the ``recommended`` column of :attr:`parameters`; the
            camera on the person, a square image …), or over its whole range where it
            recommends none, as for a service that sends no recommendations. ``"uniform"``:
            every parameter over its whole range, as infinity-core's ``random_job`` draws.
        **fixed
            Per parameter: a value, a list (uniform choice), ``inf.uniform/integers/normal/choice``,
            a frozen scipy distribution, or a callable ``(rng, n) -> array``.

        Examples
        --------
        >>> squats = sesh.sample(100, seed=0, exercise="SQUAT", lighting_power=inf.normal(400, 20))
        >>> squats.shape, squats["exercise"].unique().tolist()
        ((100, 24), ['SQUAT'])
        >>> anywhere = sesh.sample(100, seed=0, prior="uniform")
        >>> yaw = "relative_camera_yaw_deg"
        >>> float(squats[yaw].abs().max()) <= 15 < float(anywhere[yaw].abs().max())
        True
        """
        from ..params.sampling import sample

        frame = sample(self.spec, n, seed=seed, method=method, constraints=constraints, fixed=fixed,
                       advisory=advisory, prior=prior)
        return self._frame(frame, backend)

    def grid(self, *, backend: Literal["pandas", "polars"] = "pandas", **axes: Any) -> Any:
        """The cartesian product of the given axes (first axis slowest); other parameters are left out.

        Examples
        --------
        >>> sesh.grid(camera_distance=[2, 3, 4], lighting_power=[50, 500])["camera_distance"].tolist()
        [2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
        """
        from ..params.sampling import grid

        return self._frame(grid(self.spec, **axes), backend)

    def rerun(self, job_ids: str | Iterable[str], overrides: Any = None, *,
              backend: Literal["pandas", "polars"] = "pandas") -> Any:
        """Earlier jobs' parameters × ``overrides``, each with ``state`` set to its job's id.

        The base parameters come from ``job_previews/`` or ``job_runs/``; the service starts
        each re-run from its seed job's scene, with the overrides applied.

        Examples
        --------
        >>> reruns = sesh.rerun(batch.job_ids, [{"relative_avatar_angle_deg": a} for a in (-90, 0, 90)])
        >>> len(reruns), reruns["state"].tolist() == [batch.job_ids[0]] * 3 + [batch.job_ids[1]] * 3
        (6, True)
        """
        from ..params.rerun import expand_reruns

        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
        return self._frame(expand_reruns(self.spec, self.job_params(ids), overrides), backend)

    def suggest(self, n: int, history: Any, target: Any, goal: Any = "maximize", *, seed: Any = None,
                **options: Any) -> pd.DataFrame:
        """``n`` new jobs where a model of ``target`` fitted on ``history`` says to render next.

        ``goal`` is ``"maximize"``, ``"minimize"``, ``"explore"``, ``("boundary", v)`` or
        ``("between", low, high)``; ``options`` are fixed values as for :meth:`sample`, and
        ``preview``, ``constraints``, ``cost_weight``, ``pool``, ``prior``. Every job is valid; see
        :func:`infinityframe.learn.suggest.suggest`.

        Examples
        --------
        >>> history = sesh.sample(8, seed=1, **SMALL).assign(score=lambda d: d.lighting_power)
        >>> sesh.suggest(2, history, "score", seed=0, preview=True, **SMALL)["num_reps"].tolist()
        [1, 1]
        """
        from ..learn.suggest import suggest

        return suggest(self, n, history, target, goal, seed=seed, **options)

    def frame_attrs(self) -> dict[str, str]:
        """What a frame may carry about its origin: never the token."""
        return {"server": self.server, "generator": self.generator}

    # -- jobs --------------------------------------------------------------------------------------

    def complete(self, jobs: Any, *, preview: bool = False) -> list[JobParams]:
        """Jobs completed with defaults and checked against the generator's metadata.

        ``jobs`` is a pandas or polars DataFrame (checked with :attr:`schema`, pandera) or a
        list of dicts (checked one by one with the service's own rules). Raises
        :class:`~infinityframe.ValidationError` naming every bad row and parameter, before
        any request is sent.
        """
        if preview and not self.supports_preview:
            raise ValidationError(f"{self.generator} does not render previews; submit with preview=False "
                                  "(nothing was sent to the service).")
        if isinstance(jobs, pd.DataFrame) or type(jobs).__module__.startswith("polars"):
            if isinstance(jobs, pl.LazyFrame):
                jobs = jobs.collect()
            if len(jobs) == 0:
                raise ValidationError("There are no jobs to submit: the frame is empty.")
            return service_jobs(jobs, self.spec)
        if isinstance(jobs, Mapping):
            raise InfinityError("`jobs` must be a list of parameter dicts or a DataFrame, not one dict: "
                                "wrap it in a list.")
        records = list(jobs)
        if not records:
            raise ValidationError("There are no jobs to submit: the list is empty.")
        for i, job in enumerate(records):
            if not isinstance(job, Mapping):
                raise InfinityError(f"Job {i} is a {type(job).__name__}, not a dict of parameters.")
        checked = validate_jobs(self.spec, [{k: _plain(v) for k, v in job.items()} for job in records])
        errors = [e for _, problems in checked for e in problems]
        completed: list[JobParams] = [params for params, _ in checked if params is not None]
        if errors:
            raise _validation_error(errors, len(records))
        return completed

    def estimate(self, jobs: Any, *, preview: bool = False) -> list[int]:
        """Samples each job would cost, as the service estimates them (nothing is created).

        Large job lists are sent in chunks of 5,000.
        """
        return self.estimate_completed(self.complete(jobs, preview=preview), preview)

    def estimate_completed(self, completed: Sequence[JobParams], preview: bool) -> list[int]:
        estimates: list[int] = []
        for start in range(0, len(completed), ESTIMATE_CHUNK):
            body = self._body(completed[start : start + ESTIMATE_CHUNK], preview, "")
            chunk = self.api.estimate(body, idempotency_key=str(uuid.uuid4()))
            estimates.extend(int(e) for e in chunk)
        return estimates

    def _body(self, jobs: Sequence[JobParams], preview: bool, name: str) -> dict[str, Any]:
        return {"name": name, "job_runs": [
            {"name": self.generator, "is_preview": bool(preview), "param_values": job} for job in jobs]}

    def submit(self, job_params: Any, is_preview: bool = False, batch_name: str | None = None, *,
               preview: bool = False, name: str | None = None,
               mode: Literal["cached", "force"] = "cached", max_samples: int | None = None) -> Batch:
        """Submit jobs as one batch and return it.

        Parameters
        ----------
        job_params : DataFrame or list of dict
            Job parameters; missing ones take their defaults. (The name, and the positions of
            ``is_preview`` and ``batch_name``, are infinity-core's.)
        preview, name : bool, str
            One-frame previews or full jobs; the batch's name. (``is_preview`` and
            ``batch_name`` are infinity-core's spellings and mean the same.)
        mode : {"cached", "force"}
            ``"cached"`` reattaches to the batch an identical earlier submission created
            (same server, generator, preview, name and parameters), even from another process
            or after a kernel restart; ``"force"`` always submits a new batch.
        max_samples : int, optional
            Refuse with :class:`~infinityframe.SpendCapError`, before anything is charged,
            when the batch's estimate is above this; it can only tighten the session's cap and
            ``$INFINITYFRAME_MAX_SAMPLES`` (the strictest binds). A reattached batch costs
            nothing and is never refused.

        Returns
        -------
        Batch
            Its ``reattached`` is True when it is the batch an identical earlier submission
            created (found in this machine's records, or answered by the service for the same
            idempotency key), False when this call created it.

        Examples
        --------
        >>> sweep = sesh.submit(jobs, name="distance sweep", preview=True, max_samples=5_000)
        >>> sweep.num_jobs
        2
        """
        preview = bool(is_preview or preview)  # infinity-core's spelling or ours: either asks for previews
        name = batch_name if batch_name is not None else (name or "")
        if mode not in ("cached", "force"):
            raise InfinityError(f"mode must be 'cached' or 'force', not {mode!r}.")
        if not isinstance(name, str):
            raise InfinityError(f"The batch name must be a string, not {type(name).__name__}.")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValidationError(f"The batch name is not valid text (a lone surrogate at position {err.start}); "
                                  "nothing was sent.") from None
        completed = self.complete(job_params, preview=preview)
        return self.submit_completed(completed, preview=preview, name=name, mode=mode, max_samples=max_samples)

    def submit_completed(self, completed: Sequence[JobParams], *, preview: bool, name: str,
                mode: Literal["cached", "force"], max_samples: int | None = None,
                parents: Sequence[tuple[str, str]] | None = None, relation: str = "submitted") -> Batch:
        """Submit completed, valid jobs; ``parents`` (job id, batch id) per job for promotions and retries."""
        derived_from = {"relation": relation, "parents": [p[0] for p in parents]} if parents else None
        key = content_key(self.origin, self.generator, preview, name, completed, derived_from)
        cap = resolve_cap(max_samples, self.max_samples)
        if mode == "cached" and (batch_id := self.records.get(key)) is not None:
            try:
                batch = self.batch(batch_id)
            except BatchNotFoundError:
                self.records.forget(key)
            else:
                batch.reattached = True
                self._record_jobs(batch, completed, parents, relation)
                return batch
        if cap is not None:
            estimate = sum(self.estimate_completed(completed, preview))
            label = f"Batch {name!r}" if name else "This batch"
            check_cap(cap, estimate, f"{label} ({len(completed)} {'preview' if preview else 'job'}"
                                     f"{'s' if len(completed) != 1 else ''})")
        # A forced submission still needs a key of its own, so its retries stay idempotent.
        idempotency_key = key if mode == "cached" else f"{key[:32]}-{uuid.uuid4().hex}"
        data, replayed = self.api.submit(self._body(completed, preview, name), idempotency_key=idempotency_key)
        batch = Batch(self, data)
        batch.reattached = replayed
        if mode == "cached":
            self.records.put(key, batch.id, origin=self.origin, generator=self.generator, name=name,
                             num_jobs=batch.num_jobs)
        self._record_jobs(batch, completed, parents, relation)
        return batch

    def _record_jobs(self, batch: Batch, completed: Sequence[JobParams],
                     parents: Sequence[tuple[str, str]] | None, relation: str) -> None:
        """Remember each job's content and origin (for dry runs and lineage)."""
        if len(completed) != batch.num_jobs:
            return
        origins: Sequence[tuple[str | None, str | None]] = parents or [(None, None)] * len(completed)
        self.records.put_jobs(
            (JobRecord(job_id, batch.id, job_key(self.origin, self.generator, batch.preview, params),
                       batch.preview, parent_job, parent_batch, relation if parent_job else "submitted")
             for job_id, params, (parent_job, parent_batch) in zip(batch.job_ids, completed, origins, strict=True)),
            origin=self.origin)

    # -- batches and usage --------------------------------------------------------------------------

    def batch_detail(self, batch_id: str) -> dict[str, Any]:
        return self.api.batch(batch_id, not_found=lambda detail: BatchNotFoundError(
            f"No batch {batch_id} for this token at {self.server} ({detail})."))

    def batch(self, batch_id: str) -> Batch:
        """Reattach to an earlier batch by id."""
        return Batch(self, self.batch_detail(batch_id))

    def _window(self, days: float) -> dict[str, str]:
        end = datetime.now().astimezone()
        return {"start_time": (end - timedelta(days=days)).isoformat(), "end_time": end.isoformat()}

    def batches(self, days: float = 30) -> pd.DataFrame:
        """The account's batches of the last ``days`` days, newest first."""
        listed = self.api.batches(self._window(days))
        frame = pd.DataFrame(listed)
        if frame.empty:
            frame = pd.DataFrame(columns=["id", "name", "created"])
        frame = frame.rename(columns={"id": "batch_id"})
        frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
        frame = frame.sort_values("created", ascending=False, kind="stable", ignore_index=True)
        frame.attrs["infinity"] = self.frame_attrs()
        return frame

    def usage(self, days: float = 30) -> pd.DataFrame:
        """Samples rendered per generator in the last ``days`` days (previews and full jobs)."""
        data = self.api.usage(self._window(days))
        columns = ["generator", "preview_samples_rendered", "non_preview_samples_rendered"]
        frame = pd.DataFrame(data.get("counts_by_generator", []), columns=columns)
        frame.attrs["infinity"] = {**self.frame_attrs(), "start_time": data.get("start_time"),
                                   "end_time": data.get("end_time")}
        return frame

    def job_params(self, job_ids: Iterable[str]) -> dict[str, JobParams]:
        """Parameters of earlier jobs (previews or standard), by id."""
        found: dict[str, JobParams] = {}
        for job_id in job_ids:
            for preview in (True, False):
                try:
                    found[job_id] = dict(self.api.job(job_id, preview)["param_values"])
                    break
                except BatchNotFoundError:
                    continue
            else:
                raise BatchNotFoundError(f"No job or preview {job_id} for this token at {self.server}.")
        return found

    # -- the embedded service -------------------------------------------------------------------

    @classmethod
    def local(cls, generator: str = "stickfit-v0.1.0", data_dir: str | os.PathLike[str] | None = None,
              *, executor: str = "process", **kwargs: Any) -> Session:
        """A Session on the embedded local service, started on demand.

        A service already running for the same data dir — in this process, or
        ``infinityframe serve`` in another — is reused (with the executor it was started
        with); otherwise one starts with ``executor`` (``"process"``, ``"thread"`` or
        ``"dask://HOST:PORT"``, see ``docs/scale-out.md``).

        Examples
        --------
        >>> other = inf.Session.local("stickfit-v0.1.0", data_dir="data")  # ./data already has a service running
        >>> other.server == sesh.server  # reused, not started again
        True
        """
        from ..local.server import default_data_dir

        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        endpoint = local_services.endpoint(root.resolve(), executor)
        return cls(endpoint.token, generator, endpoint.url, **kwargs)


def _validation_error(errors: Sequence[Mapping[str, Any]], num_jobs: int) -> ValidationError:
    """The error for invalid jobs given as dicts: ``.failure_cases`` is the table ``df.infinity.errors()``
    returns for the same jobs as a frame (each message already names its row and column)."""
    failure_cases = pd.DataFrame({
        "row": pd.Series([e["job"] for e in errors], dtype=np.int64),
        "column": pd.Series([e["param"] or "" for e in errors], dtype="str"),
        "check": pd.Series([e.get("check", "") for e in errors], dtype="str"),
        "value": pd.Series([e.get("value") for e in errors], dtype=object),
        "message": pd.Series([e["message"] for e in errors], dtype="str"),
    })
    shown = "\n".join(f"  {e['message']}" for e in errors[:5])
    more = f"\n  … and {len(errors) - 5} more (see .failure_cases)" if len(errors) > 5 else ""
    bad_rows = failure_cases["row"].nunique()
    return ValidationError(f"{bad_rows} of {num_jobs} job(s) are invalid:\n{shown}{more}",
                           failure_cases=failure_cases, errors=[dict(e) for e in errors])


def generators(token: str | None = None, server: str | None = None) -> pd.DataFrame:
    """The generators this token may use: name, version, description, preview.

    Examples
    --------
    >>> inf.generators(sesh.token, sesh.server)["name"].tolist()
    ['shapes-v0.1.0', 'stickfit-v0.1.0', 'visionfit-flagship-v0.1.0', 'visionfit-v0.4.0']
    """
    transport = Transport((server or os.environ.get("INFINITY_SERVER") or DEFAULT_SERVER), _resolve_token(token))
    try:
        listed = Api(transport).generators()
    finally:
        transport.close()
    rows = [{"name": g["name"], "version": g.get("version"), "description": g.get("description", ""),
             "preview": bool((g.get("options") or {}).get("preview", False))} for g in listed]
    return pd.DataFrame(rows, columns=["name", "version", "description", "preview"])
