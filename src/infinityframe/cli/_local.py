"""Commands on the local service: ``serve``, ``accounts add``, ``generators``, ``demo``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click
import orjson

from ._base import FAILED, OK, USAGE, CommandError, cli
from ._words import command

__all__: list[str] = []

DATA_DIR_HELP = "database and results (default: $INFINITYFRAME_DATA_DIR, else ~/.local/share/infinityframe)"


def data_dir_of(value: str | None) -> Path:
    from ..local.server import default_data_dir

    return Path(value).expanduser() if value else default_data_dir()


@command(cli, "serve")
@click.option("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to bind (loopback only by default)")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="port to listen on; 0 picks a free one")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="jobs rendered at once (default: one per core; with Dask, twice the cluster's worker threads)")
@click.option("--executor", default="process", show_default=True, metavar="WHERE",
              help="where jobs render: 'process' (worker processes), 'thread', or 'dask://HOST:PORT' "
                   "(a dask.distributed scheduler; pip install 'infinityframe[dask]')")
@click.option("--rate-limit", type=click.FloatRange(min=0), default=100.0, show_default=True, metavar="PER_S",
              help="requests per second per token before 429; 0 disables")
@click.option("--burst", type=click.IntRange(min=1), metavar="N",
              help="requests allowed at once before the rate applies (default: twice the rate)")
@click.option("--url-ttl", type=click.FloatRange(min=0, min_open=True), default=3600.0, show_default=True,
              metavar="SECONDS", help="how long a signed result URL stays valid")
@click.option("--max-body-mb", type=click.IntRange(min=1), default=64, show_default=True, metavar="MIB",
              help="largest request body accepted before 413")
@click.option("--balance", type=click.IntRange(min=0), default=1_000_000, show_default=True, metavar="SAMPLES",
              help="samples granted to the default account of a new data dir")
@click.option("--forwarded-allow-ips", metavar="IPS",
              help="behind a reverse proxy: trust X-Forwarded-For/-Proto from these comma-separated addresses "
                   "(default: trust no proxy headers)")
@click.option("--fail-rate", type=click.FloatRange(0.0, 1.0), metavar="SHARE",
              help="testing aid: fail this share (0 to 1) of jobs, chosen by a hash of the job id")
def serve(data_dir: str | None, host: str, port: int, workers: int | None, executor: str, rate_limit: float,
          burst: int | None, url_ttl: float, max_body_mb: int, balance: int, forwarded_allow_ips: str | None,
          fail_rate: float | None) -> int:
    """Run the local Infinity-compatible service; prints its URL and token."""
    from ..errors import InfinityError
    from ..local.server import DataDirInUseError, Service, ServiceConfig

    if fail_rate is not None:  # the worker processes inherit it (local/faults.py)
        os.environ["INFINITYFRAME_FAIL_RATE"] = str(fail_rate)
    cfg = ServiceConfig(
        data_dir=data_dir_of(data_dir), host=host, port=port, workers=workers,
        rate_limit=rate_limit if rate_limit > 0 else None, burst=burst, balance=balance, url_ttl=url_ttl,
        max_body_bytes=max_body_mb * 1024 * 1024, executor=executor, forwarded_allow_ips=forwarded_allow_ips,
    )
    try:
        service = Service(cfg)
    except DataDirInUseError as err:  # another service runs there: refused, nothing touched
        raise CommandError(f"{err} (--data-dir)", FAILED) from err
    except InfinityError as err:  # a bad --executor, or dask:// without dask installed
        raise CommandError(f"--executor {executor!r}: {err}", USAGE) from err
    click.echo("infinityframe local service")
    click.echo(f"  url:   {service.url}")
    click.echo(f"  token: {service.token}")
    click.echo(f"  data:  {cfg.data_dir}")
    click.echo(f"  jobs:  {service.executor} executor")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"  warning: listening on {host}, not loopback (--host): anyone who can reach it and has a "
                   "token can spend its samples")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            service.run()
    except InfinityError as err:  # e.g. the Dask scheduler is out of reach
        raise CommandError(f"--executor {executor!r}: {err}", USAGE) from err
    return OK


@cli.group("accounts")
def accounts() -> None:
    """Manage the local service's accounts."""


@command(accounts, "add")
@click.argument("name")
@click.option("--balance", type=click.IntRange(min=0), default=1_000_000, show_default=True, metavar="SAMPLES",
              help="samples the account may spend")
@click.option("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
def accounts_add(name: str, balance: int, data_dir: str | None) -> int:
    """Add an account NAME to the local service and print its token."""
    from ..local.store import Store

    root = data_dir_of(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    store = Store(root / "service.db")
    try:
        token = store.create_account(name, balance)
    finally:
        store.close()
    click.echo(token)
    return OK


@command(cli, "generators")
@click.option("--json", "as_json", is_flag=True, help="each generator's full metadata, as JSON")
def generators(as_json: bool) -> int:
    """List the local service's generators."""
    from ..local import generators as builtin

    rows = [g.metadata() for g in builtin.available().values()]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return OK
    for meta in rows:
        preview = "previews" if meta["options"]["preview"] else "no previews"
        click.echo(f"{meta['name']:<20} {len(meta['params']):>3} params, {preview}  {meta['description']}")
    return OK


@command(cli, "demo")
@click.option("--out", default="infinityframe-demo", show_default=True, metavar="DIR", help="output folder")
@click.option("--jobs", type=click.IntRange(min=2), default=12, show_default=True, metavar="N",
              help="previews in the demo sweep; half of them become videos")
def demo(out: str, jobs: int) -> int:
    """Run the end-to-end demo on the embedded service: sweep, previews, videos, report."""
    import gc

    from ..demo import run_demo

    # A short command that allocates much and frees little: collecting cycles as often as a
    # long-running program should cost it half a second of CPU. What the imports made is left
    # out of every collection, and collections are rarer (as mypy does for its own run).
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)
    try:
        run_demo(Path(out), jobs=jobs)
    finally:
        # The process ends next: the collector need not walk every object pandas, matplotlib and
        # the service made (half a second of the demo's exit) before they are freed anyway. A
        # caller that goes on (the command run in-process) gets its own thresholds back.
        gc.freeze()
        gc.set_threshold(*thresholds)
    return OK
