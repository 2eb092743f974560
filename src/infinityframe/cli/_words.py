"""The package's errors said in the command line's terms: flags, never Python calls.

The library's messages tell a Python user what to call (``max_samples=``, ``dry_run()``); at the
shell the same advice is a flag. Each error class whose message gives such advice is worded
here from its structured fields; the others already speak of the service, the batch or the
data, and keep their message.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ..client.caps import ENV_VAR
from ..errors import (
    AuthenticationError,
    BatchNotFoundError,
    GeneratorNotFoundError,
    InfinityError,
    SpendCapError,
    ValidationError,
    WaitInterrupted,
)
from ..params.jobfile import JobFile, JobFileError
from ._base import FAILED, INTERRUPTED, OVER_CAP, USAGE, CommandError, note

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["command", "explain", "interrupted", "invalid_jobs", "over_cap", "unknown_generator"]


def explain(err: InfinityError) -> CommandError:
    """The error ``err`` as the command reports it, with its exit status."""
    if isinstance(err, SpendCapError):
        return over_cap(err.estimate, err.cap, err.source)
    if isinstance(err, JobFileError):
        return CommandError(str(err), USAGE)
    if isinstance(err, ValidationError):
        return invalid_jobs(err, None)
    if isinstance(err, AuthenticationError):
        return CommandError("the service refused the token: check --token-file, $INFINITY_TOKEN or --token "
                            "(and --server: a token belongs to one service).", FAILED)
    if isinstance(err, GeneratorNotFoundError):
        return CommandError("no such generator, or this token may not use it: check --generator.", USAGE)
    if isinstance(err, BatchNotFoundError):
        return CommandError(str(err), FAILED)
    return CommandError(str(err), FAILED)


def over_cap(estimate: int, cap: int, source: str) -> CommandError:
    """Over the spend cap: which flag or variable set it, and how to go ahead."""
    if source == ENV_VAR:
        where, how = f"${ENV_VAR} ({cap:,})", f"raise ${ENV_VAR} to {estimate} or more, or unset it"
    else:
        where, how = f"--max-samples {cap}", f"pass --max-samples {estimate} (or more)"
    return CommandError(f"the batch is estimated at {estimate:,} samples, over {where}. Nothing was submitted or "
                        f"charged. To submit it, {how}; or submit fewer jobs (--dry-run shows what each costs).",
                        OVER_CAP)


def invalid_jobs(err: ValidationError, found: JobFile | None) -> CommandError:
    """Every problem of the jobs, one per line, each after its CSV line when the jobs came from a CSV."""
    cases = err.failure_cases
    if cases is None or len(cases) == 0:
        return CommandError(str(err), USAGE)
    lines = found.located(cases) if found is not None else [str(m) for m in cases["message"]]
    rows = cases.loc[cases["row"] >= 0, "row"].nunique() if "row" in cases else 0
    name = f"{found.path.name}: " if found is not None else ""
    jobs = f" in {rows} job{'s' if rows != 1 else ''}" if rows else ""
    return CommandError(f"{name}{len(lines)} problem{'s' if len(lines) != 1 else ''}{jobs}; nothing was sent. "
                        "Fix the cells named below (an empty cell takes the parameter's default):", USAGE, lines)


def unknown_generator(name: str, names: Sequence[str], where: str) -> CommandError:
    """``--generator NAME`` names no generator: the ones that exist, and the closest to it."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    hint = f" Did you mean --generator {close[0]}?" if close else ""
    listed = ", ".join(sorted(names)) if names else "none (this token may use no generator)"
    return CommandError(f"--generator {name!r}: no such generator at {where}.{hint} The generators there: {listed}.",
                        USAGE)


def interrupted(err: WaitInterrupted) -> str:
    """Ctrl-C while waiting: the batch goes on, and how to wait for it again."""
    return (f"stopped waiting for batch {err.batch_id}: {err.remaining} job(s) not finished yet; they are not "
            f"cancelled. Wait again with: infinityframe status {err.batch_id} --wait (submitting the same file "
            "again reattaches to this batch and charges nothing)")


def command(group: click.Group, name: str, **kwargs: Any) -> Callable[[F], F]:
    """``group.command(name)``, with the package's errors said in the command's terms."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, **options: Any) -> Any:
            ctx = click.get_current_context()
            try:
                return func(*args, **options)
            except WaitInterrupted as err:
                note(interrupted(err))
                return INTERRUPTED
            except CommandError as err:
                raise err.bind(ctx) from err.__cause__
            except InfinityError as err:
                raise explain(err).bind(ctx) from err

        group.command(name, **kwargs)(run)
        return func

    return decorate
