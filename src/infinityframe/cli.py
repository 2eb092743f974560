"""The ``infinityframe`` command: ``serve``, ``demo``, ``generators``, ``accounts``, ``submit``, ``status``,
``download``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .params.spec import GeneratorSpec

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from .local.server import Service, ServiceConfig, default_data_dir

    if args.fail_rate is not None:  # a testing aid; the worker processes inherit it (local/faults.py)
        if not 0.0 <= args.fail_rate <= 1.0:
            raise SystemExit(f"--fail-rate must be between 0 and 1, not {args.fail_rate}")
        os.environ["INFINITYFRAME_FAIL_RATE"] = str(args.fail_rate)
    cfg = ServiceConfig(
        data_dir=Path(args.data_dir) if args.data_dir else default_data_dir(),
        host=args.host, port=args.port, workers=args.workers,
        rate_limit=args.rate_limit if args.rate_limit > 0 else None, burst=args.burst,
        balance=args.balance, url_ttl=args.url_ttl, max_body_bytes=args.max_body_mb * 1024 * 1024,
        executor=args.executor, forwarded_allow_ips=args.forwarded_allow_ips,
    )
    from .errors import InfinityError
    from .local.server import DataDirInUseError

    try:
        service = Service(cfg)
    except DataDirInUseError as err:  # another service runs there: refused, nothing touched
        print(f"infinityframe serve: {err}", file=sys.stderr)
        return 1
    except InfinityError as err:  # a bad --executor, or dask:// without dask installed
        print(f"infinityframe serve: {err}", file=sys.stderr)
        return 2
    print("infinityframe local service", flush=True)
    print(f"  url:   {service.url}", flush=True)
    print(f"  token: {service.token}", flush=True)
    print(f"  data:  {cfg.data_dir}", flush=True)
    print(f"  jobs:  {service.executor} executor", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  warning: listening on {args.host}, not loopback: anyone who can reach it and "
              "has a token can spend its samples", flush=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            service.run()
    except InfinityError as err:  # e.g. the Dask scheduler is out of reach
        print(f"infinityframe serve: {err}", file=sys.stderr)
        return 2
    return 0


def _accounts_add(args: argparse.Namespace) -> int:
    from .local.server import default_data_dir
    from .local.store import Store

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "service.db")
    try:
        token = store.create_account(args.name, args.balance)
    finally:
        store.close()
    print(token)
    return 0


def _generators(args: argparse.Namespace) -> int:
    from .local import generators

    rows = [g.metadata() for g in generators.available().values()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for meta in rows:
            preview = "previews" if meta["options"]["preview"] else "no previews"
            print(f"{meta['name']:<20} {len(meta['params']):>3} params, {preview}  {meta['description']}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import gc

    from .demo import run_demo

    # A short command that allocates much and frees little: collecting cycles as often as a
    # long-running program should cost it half a second of CPU. What the imports made is left
    # out of every collection, and collections are rarer (as mypy does for its own run).
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)
    run_demo(Path(args.out), jobs=args.jobs)
    # The process ends next: the collector need not walk every object pandas, matplotlib and the
    # service made (half a second of the demo's exit) before they are freed anyway.
    gc.freeze()
    return 0


# -- talking to a service: submit, status, download -------------------------------------------------

class UsageError(Exception):
    """A mistake in the command line or its input file (exit code 2)."""


def _endpoint(args: argparse.Namespace) -> tuple[str, str, str]:
    """``(server, token, where)``: the flags, else ``$INFINITY_SERVER``/``$INFINITY_TOKEN``, else the embedded service.

    With neither a server nor a token, the embedded local service on the data dir is used: the
    one ``infinityframe serve`` runs there, else one started in this process (as ``Session.local``).
    """
    server = args.server or os.environ.get("INFINITY_SERVER")
    token = args.token or _read_token_file(args.token_file) or os.environ.get("INFINITY_TOKEN")
    if args.token and sys.stderr.isatty():
        _note("warning: --token is visible to other users of this machine (in the process list); "
              "prefer $INFINITY_TOKEN or --token-file.")
    if server or token:
        from .client import DEFAULT_SERVER

        server = (server or DEFAULT_SERVER).rstrip("/")
        if not token:
            raise UsageError(f"no token for {server}: pass --token-file, set INFINITY_TOKEN or pass --token.")
        args.secret = token
        return server, token, server
    from .client.session import local_endpoint
    from .local.server import default_data_dir

    root = (Path(args.data_dir) if args.data_dir else default_data_dir()).expanduser().resolve()
    url, token, args.in_process = local_endpoint(root)  # as Session.local: stopped at exit
    args.secret = token
    where = f"the embedded service in {root}" if args.in_process else f"the local service at {url} ({root})"
    return url, token, where


def _read_token_file(path: str | None) -> str | None:
    """The first line of ``path`` (``-``: standard input), stripped; None without a path."""
    if not path:
        return None
    try:
        text = sys.stdin.readline() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the token file {path}: {err}") from err
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise UsageError(f"the token file {path} is empty.")
    return token


def _session(args: argparse.Namespace, generator: str) -> Any:
    from .client import Session

    server, token, where = _endpoint(args)
    args.where = where
    return Session(token, generator, server)


def _reattach(args: argparse.Namespace, batch_id: str) -> Any:
    """The batch, on a session for its own generator (read from the batch itself)."""
    from .client import Batch, Session
    from .client._api import Api
    from .client._http import Transport
    from .errors import BatchNotFoundError

    server, token, where = _endpoint(args)
    args.where = where
    transport = Transport(server, token)
    api = Api(transport)
    try:
        data = api.batch(batch_id, not_found=lambda detail: BatchNotFoundError(
            f"No batch {batch_id} for this token at {where} ({detail}); `infinityframe {args.command}` takes a "
            "batch id that `infinityframe submit` printed."))
        runs = data.get("job_runs") or []
        if not runs:
            raise BatchNotFoundError(f"Batch {batch_id} at {where} has no jobs.")
        generator = runs[0].get("name")
        if not generator:  # the contract promises the generator's name in the summary, not the detail
            generator = api.batch_summary(batch_id)["job_runs"][0]["name"]
    finally:
        transport.close()
    return Batch(Session(token, str(generator), server), data)


_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false"}


def read_jobs(path: Path, spec: GeneratorSpec) -> pd.DataFrame:
    """A job frame from a CSV or parquet file; CSV cells are parsed with the generator's parameter types.

    A CSV has no types, so each cell of a parameter's column is read as that parameter's type
    (``int``, ``float``, ``bool`` as true/false/yes/no/1/0, text); an empty cell, or a missing
    parameter, takes its default. Other columns stay text, for validation to judge; a leading unnamed
    column (the index ``DataFrame.to_csv()`` writes) is ignored.

    Raises
    ------
    UsageError
        The file is missing or neither ``.csv`` nor ``.parquet``.
    ValidationError
        A cell cannot be read as its parameter's type (naming the line and column).
    """
    import pandas as pd

    from .errors import ValidationError
    from .params.cells import read_text
    from .params.numeric import NumberError
    from .params.sampling import with_defaults

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix != ".csv":
        raise UsageError(f"{path.name}: jobs must be a .csv or .parquet file, not {suffix or 'a file without suffix'}.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path.name} is not a readable CSV file: {str(exc).strip()}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw.columns) and raw.columns[0] == "Unnamed: 0":  # the index that DataFrame.to_csv() writes
        raw = raw.iloc[:, 1:]
    columns: dict[str, Any] = {}
    for column in raw.columns:
        if column not in spec:
            columns[column] = raw[column]
            continue
        kind = spec[column].type
        values: list[Any] = []
        for row, text in enumerate(raw[column].tolist()):
            if text.strip() == "":
                values.append(None)
                continue
            try:
                values.append(read_text(text.strip() if kind != "str" else text, kind))
            except ValueError as err:
                reason = f" ({err.reason})" if isinstance(err, NumberError) else ""
                raise ValidationError(
                    f"{path.name} line {row + 2}, column {column}: {text!r} is not {_KINDS.get(kind, kind)}"
                    f"{reason}; fix the cell or leave it empty for the default.") from None
        columns[column] = pd.Series(values, dtype=object, index=raw.index)
    return with_defaults(pd.DataFrame(columns, index=raw.index), spec)


def _problems(exc: Exception, path: Path | None) -> str:
    """A ValidationError as one line: its first problems, each the message ``df.infinity.errors()``
    gives for the same frame, after the CSV line it is on."""
    cases = getattr(exc, "failure_cases", None)
    if cases is None or len(cases) == 0:
        return str(exc)
    csv = path is not None and path.suffix.lower() == ".csv"
    shown = [f"line {int(case.row) + 2}: {case.message}"
             if csv and isinstance(case.row, Integral) and int(case.row) >= 0 else str(case.message)
             for case in cases.head(3).itertuples(index=False)]
    more = f"; … and {len(cases) - 3} more" if len(cases) > 3 else ""
    name = f"{path.name}: " if path is not None else ""
    return f"{name}{len(cases)} problem(s): " + "; ".join(shown) + more


def _submit(args: argparse.Namespace) -> int:
    from .errors import ValidationError

    path = Path(args.file)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UsageError(f"{path.name}: jobs must be a .csv or .parquet file.")
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    sesh = _session(args, args.generator)
    try:
        jobs = read_jobs(path, sesh.spec)
        batch = sesh.submit(jobs, preview=args.preview, name=args.name, mode=args.mode,
                            max_samples=args.max_samples)
    except ValidationError as exc:
        raise ValidationError(_problems(exc, path)) from None
    kind = "preview" if batch.preview else "job"
    _note(f"batch {batch.id}: {batch.num_jobs} {kind}{'s' if batch.num_jobs != 1 else ''} of {batch.generator} "
          f"on {args.where}" + (f", named {batch.name!r}" if batch.name else ""))
    if args.wait:
        status = batch.wait(progress=True)
        _note(_counts_line(status))
    elif getattr(args, "in_process", False):
        _note("no `infinityframe serve` runs on this data dir: the jobs render whenever a service runs "
              "there (start one, or use --wait / `infinityframe download --wait`).")
    print(batch.id)
    return 0


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _counts_line(status: Any) -> str:
    counts = status["state"].value_counts()
    shown = ", ".join(f"{state} {int(counts[state])}" for state in status["state"].cat.categories if counts[state])
    return f"{len(status)} job(s): {shown}"


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    batch = _reattach(args, args.batch)
    status = batch.wait(progress=True) if args.wait else batch.status()
    if args.json:
        rows = [{"job_id": r.job_id, "state": str(r.state), "samples": None if pd.isna(r.samples) else int(r.samples)}
                for r in status.itertuples(index=False)]
        print(json.dumps({"batch_id": batch.id, "name": batch.name, "generator": batch.generator,
                          "preview": batch.preview, "jobs": rows}, indent=2))
        return 0
    kind = "previews" if batch.preview else "jobs"
    print(f"batch {batch.id}  {batch.name!r}  {batch.generator}  {batch.num_jobs} {kind}")
    print(_counts_line(status))
    if args.jobs:
        for r in status.itertuples(index=False):
            samples = "" if pd.isna(r.samples) else str(r.samples)
            print(f"  {r.job_id}  {r.state:<10} {samples}")
    return 0


def _download(args: argparse.Namespace) -> int:
    batch = _reattach(args, args.batch)
    status = batch.wait(progress=True) if args.wait else batch.status()
    folder = batch.download(args.out, overwrite=args.overwrite, progress=False)
    done = sum((folder / job_id).is_dir() for job_id in batch.job_ids)
    unfinished = int(status["in_progress"].sum())
    failed = int((status["state"] == "failed").sum())
    _note(f"{done} of {batch.num_jobs} job folder(s) in {folder}")
    if unfinished:
        _note(f"{unfinished} job(s) still queued or running: run the command again later, or add --wait.")
    if failed:
        _note(f"{failed} job(s) failed and have no results.")
    print(folder)
    return 0


def _add_remote(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service (default: the embedded local service)")
    group.add_argument("--server", help="the service's URL (default: $INFINITY_SERVER; with neither a server nor "
                                        "a token, the embedded local service)")
    group.add_argument("--token", help="API token (default: $INFINITY_TOKEN); never printed, but other users "
                                       "can see it in the process list: prefer $INFINITY_TOKEN or --token-file")
    group.add_argument("--token-file", metavar="PATH",
                       help="read the API token from the first line of PATH ('-': standard input)")
    group.add_argument("--data-dir", help="the embedded service's data dir (default: $INFINITYFRAME_DATA_DIR or "
                                          "~/.local/share/infinityframe)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="infinityframe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the local Infinity-compatible service")
    serve.add_argument("--data-dir", help="database and results (default: $INFINITYFRAME_DATA_DIR or "
                                          "~/.local/share/infinityframe)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    serve.add_argument("--workers", type=int, help="jobs rendered at once (default: one per core; with Dask, "
                                                   "twice the cluster's worker threads)")
    serve.add_argument("--executor", default="process",
                       help="where jobs render: 'process' (worker processes, the default), 'thread', or "
                            "'dask://HOST:PORT' (a dask.distributed scheduler; pip install 'infinityframe[dask]')")
    serve.add_argument("--rate-limit", type=float, default=100.0,
                       help="requests per second per token before 429 (0 disables; default 100)")
    serve.add_argument("--burst", type=int, help="requests allowed at once before the rate applies "
                                                 "(default: twice the rate)")
    serve.add_argument("--url-ttl", type=float, default=3600.0,
                       help="seconds a signed result URL stays valid (default 3600)")
    serve.add_argument("--max-body-mb", type=int, default=64,
                       help="largest request body accepted, in MiB, before 413 (default 64)")
    serve.add_argument("--balance", type=int, default=1_000_000,
                       help="samples granted to the default account of a new data dir")
    serve.add_argument("--forwarded-allow-ips", metavar="IPS",
                       help="behind a reverse proxy: trust X-Forwarded-For/-Proto from these comma-separated "
                            "addresses (default: trust no proxy headers)")
    serve.add_argument("--fail-rate", type=float, default=None,
                       help="testing aid: fail this share (0-1) of jobs, chosen by a hash of the job id")
    serve.set_defaults(func=_serve)

    accounts = sub.add_parser("accounts", help="manage the local service's accounts")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    add = accounts_sub.add_parser("add", help="add an account and print its token")
    add.add_argument("name")
    add.add_argument("--balance", type=int, default=1_000_000)
    add.add_argument("--data-dir")
    add.set_defaults(func=_accounts_add)

    gens = sub.add_parser("generators", help="list the local service's generators")
    gens.add_argument("--json", action="store_true", help="full metadata as JSON")
    gens.set_defaults(func=_generators)

    demo = sub.add_parser("demo", help="end-to-end demo on the embedded service")
    demo.add_argument("--out", default="infinityframe-demo", help="output folder (default: ./infinityframe-demo)")
    demo.add_argument("--jobs", type=int, default=12,
                      help="previews in the demo sweep; half of them become videos (default 12)")
    demo.set_defaults(func=_demo)

    submit = sub.add_parser("submit", help="submit the jobs of a CSV or parquet file as one batch; prints its id",
                            description="Submit the jobs of a CSV or parquet file (one row per job, one column per "
                                        "parameter; missing parameters and empty CSV cells take their defaults). "
                                        "Prints the batch id.")
    submit.add_argument("file", help="jobs.csv or jobs.parquet")
    submit.add_argument("--generator", "-g", required=True, help="e.g. stickfit-v0.1.0")
    submit.add_argument("--name", help="the batch's name")
    submit.add_argument("--preview", action="store_true", help="one-frame previews instead of full jobs")
    submit.add_argument("--mode", choices=("cached", "force"), default="cached",
                        help="cached (default): the same submission again reattaches to its batch; force: always new")
    submit.add_argument("--max-samples", type=int, help="refuse, before anything is charged, above this estimate")
    submit.add_argument("--wait", action="store_true", help="wait until every job has finished")
    _add_remote(submit)
    submit.set_defaults(func=_submit)

    status = sub.add_parser("status", help="a batch's jobs by state")
    status.add_argument("batch", help="the batch id")
    status.add_argument("--jobs", action="store_true", help="one line per job")
    status.add_argument("--json", action="store_true", help="as JSON")
    status.add_argument("--wait", action="store_true", help="wait until every job has finished")
    _add_remote(status)
    status.set_defaults(func=_status)

    download = sub.add_parser("download", help="download a batch's finished jobs; prints the folder")
    download.add_argument("batch", help="the batch id")
    download.add_argument("--out", help="folder for the job folders (default: ./infinity-batches/BATCH)")
    download.add_argument("--wait", action="store_true", help="wait until every job has finished first")
    download.add_argument("--overwrite", action="store_true", help="fetch jobs already downloaded again")
    _add_remote(download)
    download.set_defaults(func=_download)
    return parser


def _one_line(message: str, args: argparse.Namespace) -> str:
    """The message on one line, with any token the command used blanked out (belt and braces)."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    for token in (getattr(args, "token", None), getattr(args, "secret", None)):
        if token:
            text = text.replace(token, "***")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; exit status 0 on success, 1 when the service or the data refused, 2 for usage errors."""
    from .errors import InfinityError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except UsageError as exc:
        parser.exit(2, f"infinityframe {args.command}: error: {_one_line(str(exc), args)}\n")
    except InfinityError as exc:
        print(f"infinityframe {args.command}: error: {_one_line(str(exc), args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
