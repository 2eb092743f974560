"""Commands that talk to a service: ``submit``, ``status``, ``download``.

Which service: ``--server``/``$INFINITY_SERVER`` with a token, a token alone (the Infinity
cloud), or neither: the embedded local service on the data dir, as ``Session.local`` uses it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from ._base import FAILED, OK, OVER_CAP, USAGE, CommandError, cli, note, secret
from ._local import DATA_DIR_HELP
from ._words import command

__all__: list[str] = []

F = TypeVar("F", bound=Callable[..., Any])


def service_options(func: F) -> F:
    """The flags that say which service a command talks to, and with which token."""
    options = [
        click.option("--server", metavar="URL", help="the service's URL (default: $INFINITY_SERVER; with neither a "
                                                     "server nor a token, the embedded local service)"),
        click.option("--token", metavar="TOKEN", help="API token (default: $INFINITY_TOKEN); never printed, but "
                                                      "visible in the process list: prefer $INFINITY_TOKEN or "
                                                      "--token-file"),
        click.option("--token-file", metavar="PATH", help="read the API token from the first line of PATH "
                                                          "('-': standard input)"),
        click.option("--data-dir", metavar="DIR", help=f"the embedded service's {DATA_DIR_HELP}"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True)
class Endpoint:
    """A service, its token (never shown), how messages name it, and whether this command started it."""

    server: str
    token: str = field(repr=False)
    where: str = ""
    in_process: bool = False  # an embedded service this command runs: jobs render only while it does


def endpoint(server: str | None, token: str | None, token_file: str | None, data_dir: str | None) -> Endpoint:
    """The service the flags, else the environment, name; else the embedded local service."""
    ctx = click.get_current_context()
    server = server or os.environ.get("INFINITY_SERVER")
    token = token or _read_token_file(token_file) or os.environ.get("INFINITY_TOKEN")
    if token:
        secret(ctx, token)
    if ctx.params.get("token") and sys.stderr.isatty():
        note("warning: --token is visible to other users of this machine (in the process list); "
             "prefer $INFINITY_TOKEN or --token-file.")
    if server or token:
        from ..client import DEFAULT_SERVER

        server = (server or DEFAULT_SERVER).rstrip("/")
        if not token:
            raise CommandError(f"no token for {server}: pass --token-file, set $INFINITY_TOKEN or pass --token.",
                               USAGE)
        return Endpoint(server, token, server)
    from ..client.local_services import local_services
    from ._local import data_dir_of

    root = data_dir_of(data_dir).resolve()
    url, token, in_process = local_services.endpoint(root)  # as Session.local: stopped at exit
    secret(ctx, token)
    where = f"the embedded service in {root}" if in_process else f"the local service at {url} ({root})"
    return Endpoint(url, token, where, in_process)


def _read_token_file(path: str | None) -> str | None:
    """The first line of ``path`` (``-``: standard input), stripped; None without a path."""
    if not path:
        return None
    try:
        text = sys.stdin.readline() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise CommandError(f"--token-file {path}: cannot read it ({err}).", USAGE) from err
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise CommandError(f"--token-file {path}: the file is empty.", USAGE)
    return token


def session(where: Endpoint, generator: str) -> Any:
    """A Session for ``--generator``; an unknown one is named with the generators that exist."""
    from ..client import Session
    from ..client._api import Api
    from ..client._http import Transport
    from ..errors import GeneratorNotFoundError
    from ._words import unknown_generator

    try:
        return Session(where.token, generator, where.server)
    except GeneratorNotFoundError as err:
        transport = Transport(where.server, where.token)
        try:
            names = [str(g.get("name")) for g in Api(transport).generators() if isinstance(g, dict)]
        finally:
            transport.close()
        raise unknown_generator(generator, names, where.where) from err


def reattach(where: Endpoint, batch_id: str) -> Any:
    """The batch, on a session for its own generator (read from the batch itself)."""
    from ..client import Batch, Session
    from ..client._api import Api
    from ..client._http import Transport
    from ..errors import BatchNotFoundError

    transport = Transport(where.server, where.token)
    api = Api(transport)
    command_name = click.get_current_context().info_name
    try:
        data = api.batch(batch_id, not_found=lambda detail: BatchNotFoundError(
            f"no batch {batch_id} for this token at {where.where} ({detail}); infinityframe {command_name} takes a "
            "batch id that infinityframe submit printed (and the same --server, token or --data-dir)."))
        runs = data.get("job_runs") or []
        if not runs:
            raise BatchNotFoundError(f"batch {batch_id} at {where.where} has no jobs.")
        generator = runs[0].get("name")
        if not generator:  # the contract promises the generator's name in the summary, not the detail
            generator = api.batch_summary(batch_id)["job_runs"][0]["name"]
    finally:
        transport.close()
    return Batch(Session(where.token, str(generator), where.server), data)


def counts_line(status: Any) -> str:
    counts = status["status"].value_counts()
    shown = ", ".join(f"{state} {int(counts[state])}" for state in status["status"].cat.categories if counts[state])
    return f"{len(status)} job(s): {shown}"


def failed_jobs(status: Any) -> int:
    return int((status["status"] == "failed").sum())


@command(cli, "submit")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--generator", "-g", required=True, metavar="NAME", help="e.g. stickfit-v0.1.0")
@click.option("--name", default="", metavar="NAME", help="the batch's name")
@click.option("--preview", is_flag=True, help="one-frame previews instead of full jobs")
@click.option("--mode", type=click.Choice(["cached", "force"]), default="cached", show_default=True,
              help="cached: the same submission again reattaches to its batch; force: always a new batch")
@click.option("--max-samples", type=click.IntRange(min=0), metavar="N",
              help="refuse, before anything is charged, when the estimate is above N samples")
@click.option("--dry-run", is_flag=True, help="check the jobs and print what submitting would cost and do; "
                                              "submit nothing")
@click.option("--wait", is_flag=True, help="wait until every job has finished")
@service_options
def submit(file: Path, generator: str, name: str, preview: bool, mode: str, max_samples: int | None,
           dry_run: bool, wait: bool, server: str | None, token: str | None, token_file: str | None,
           data_dir: str | None) -> int:
    """Submit the jobs of FILE (.csv or .parquet) as one batch and print its id.

    One row per job, one column per parameter. In a CSV, an empty cell takes the parameter's
    default and a literal nan is refused (except where the default is null); every bad cell
    is reported at once, by its line.
    """
    from ..errors import ValidationError
    from ..params.jobfile import SUFFIXES, read_job_file
    from ._words import invalid_jobs

    if file.suffix.lower() not in SUFFIXES:
        raise CommandError(f"FILE {file.name}: jobs must be a .csv or .parquet file, not "
                           f"{file.suffix or 'a file without suffix'}.", USAGE)
    if not file.is_file():
        raise CommandError(f"FILE {file}: no such file.", USAGE)
    where = endpoint(server, token, token_file, data_dir)
    sesh = session(where, generator)
    sesh.max_samples = max_samples
    if preview and not sesh.supports_preview:
        raise CommandError(f"--preview: {generator} does not render previews; drop --preview.", USAGE)
    found = read_job_file(file, sesh.spec)
    if dry_run:
        return _dry_run(sesh, found, preview, name)
    try:
        batch = sesh.submit(found.jobs, preview=preview, name=name, mode=mode)
    except ValidationError as err:
        raise invalid_jobs(err, found) from err
    kind = "preview" if batch.preview else "job"
    jobs = f"{batch.num_jobs} {kind}{'s' if batch.num_jobs != 1 else ''} of {batch.generator}"
    named = f", named {batch.name!r}" if batch.name else ""
    if batch.reattached:
        note(f"reattached to batch {batch.id}: the same {jobs}{named} were submitted before on {where.where}; "
             "nothing new was charged (--mode force submits them again)")
    else:
        note(f"batch {batch.id}: {jobs} on {where.where}{named}")
    click.echo(batch.id)
    if wait:
        status = batch.wait(progress=True)
        note(counts_line(status))
        if failed := failed_jobs(status):
            raise CommandError(f"{failed} of {batch.num_jobs} job(s) of batch {batch.id} failed; "
                               f"infinityframe status {batch.id} --jobs lists them.", FAILED)
    elif where.in_process and not batch.reattached:
        note("no 'infinityframe serve' runs on this data dir: the jobs render whenever a service runs there "
             "(start one, or use --wait, or 'infinityframe download BATCH --wait' later).")
    return OK


def _dry_run(sesh: Any, found: Any, preview: bool, name: str) -> int:
    """Print what submitting would do; the exit status is the one submitting would end with."""
    from ..client.caps import resolve_cap
    from ..client.dryrun import dry_run_frame
    from ..params.schema import failure_cases
    from ._words import over_cap

    failures = failure_cases(found.jobs, sesh.spec)
    for line in found.located(failures):
        click.echo(f"problem: {line}")
    _, summary = dry_run_frame(found.jobs, sesh, preview=preview, name=name)
    kind = "previews" if preview else "jobs"
    click.echo(f"dry run of {summary.jobs:,} {kind} of {summary.generator}: {summary.new:,} new, "
               f"{summary.already_submitted:,} already submitted, {summary.duplicated:,} duplicated, "
               f"{summary.invalid:,} invalid")
    valid = summary.jobs - summary.invalid
    click.echo(f"estimated samples: {summary.estimated_samples:,} for the {valid:,} valid "
               f"{'job' if valid == 1 else 'jobs'} ({summary.new_samples:,} for the new ones)")
    if summary.balance is not None:
        click.echo(f"balance: {summary.balance:,}")
    if summary.invalid:
        click.echo(f"submit would refuse the file: {summary.invalid} invalid "
                   f"{'job' if summary.invalid == 1 else 'jobs'} (the problems above); nothing was sent")
        return USAGE
    if summary.reattach_batch_id is not None:
        click.echo(f"submit would reattach to batch {summary.reattach_batch_id} and charge nothing "
                   "(--mode force would submit a new batch)")
        return OK
    cap = resolve_cap(None, sesh.max_samples)
    if cap is not None and summary.estimated_samples > cap.limit:
        error = over_cap(summary.estimated_samples, cap.limit, cap.source)
        click.echo(f"submit would refuse: {error.message}")
        return OVER_CAP
    if summary.balance is not None and summary.estimated_samples > summary.balance:
        click.echo(f"submit would be refused: the account is short by "
                   f"{summary.estimated_samples - summary.balance:,} samples; submit fewer jobs")
        return FAILED
    click.echo("submit would create a new batch: nothing was sent")
    return OK


@command(cli, "status")
@click.argument("batch_id", metavar="BATCH")
@click.option("--jobs", "per_job", is_flag=True, help="one line per job")
@click.option("--json", "as_json", is_flag=True, help="as JSON")
@click.option("--wait", is_flag=True, help="wait until every job has finished")
@service_options
def status(batch_id: str, per_job: bool, as_json: bool, wait: bool, server: str | None, token: str | None,
           token_file: str | None, data_dir: str | None) -> int:
    """Print a batch's jobs by status."""
    import pandas as pd

    batch = reattach(endpoint(server, token, token_file, data_dir), batch_id)
    frame = batch.wait(progress=True) if wait else batch.status()
    if as_json:
        rows = [{"job_id": r.job_id, "status": str(r.status), "samples": None if pd.isna(r.samples) else int(r.samples)}
                for r in frame.itertuples(index=False)]
        click.echo(orjson.dumps({"batch_id": batch.id, "name": batch.name, "generator": batch.generator,
                                 "preview": batch.preview, "jobs": rows}, option=orjson.OPT_INDENT_2).decode())
    else:
        kind = "previews" if batch.preview else "jobs"
        click.echo(f"batch {batch.id}  {batch.name!r}  {batch.generator}  {batch.num_jobs} {kind}")
        click.echo(counts_line(frame))
        if per_job:
            for r in frame.itertuples(index=False):
                samples = "" if pd.isna(r.samples) else str(r.samples)
                click.echo(f"  {r.job_id}  {r.status:<10} {samples}")
    if wait and (failed := failed_jobs(frame)):
        raise CommandError(f"{failed} of {batch.num_jobs} job(s) of batch {batch.id} failed.", FAILED)
    return OK


@command(cli, "download")
@click.argument("batch_id", metavar="BATCH")
@click.option("--out", metavar="DIR", help="folder for the job folders (default: ./infinity-batches/BATCH)")
@click.option("--wait", is_flag=True, help="wait until every job has finished first")
@click.option("--overwrite", is_flag=True, help="fetch jobs already downloaded again")
@service_options
def download(batch_id: str, out: str | None, wait: bool, overwrite: bool, server: str | None, token: str | None,
             token_file: str | None, data_dir: str | None) -> int:
    """Download a batch's finished jobs and print the folder."""
    batch = reattach(endpoint(server, token, token_file, data_dir), batch_id)
    frame = batch.wait(progress=True) if wait else batch.status()
    folder = batch.download(out, overwrite=overwrite, progress=False)
    done = sum((folder / job_id).is_dir() for job_id in batch.job_ids)
    unfinished = int(frame["in_progress"].sum())
    note(f"{done} of {batch.num_jobs} job folder(s) in {folder}")
    if unfinished:
        note(f"{unfinished} job(s) still queued or running: run the command again later, or add --wait.")
    click.echo(folder)
    if failed := failed_jobs(frame):
        raise CommandError(f"{failed} of {batch.num_jobs} job(s) of batch {batch.id} failed and have no results.",
                           FAILED)
    return OK
