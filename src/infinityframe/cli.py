"""The ``infinityframe`` command: ``serve``, ``demo``, ``generators``, ``accounts``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from .local.server import Service, ServiceConfig, default_data_dir

    cfg = ServiceConfig(
        data_dir=Path(args.data_dir) if args.data_dir else default_data_dir(),
        host=args.host, port=args.port, workers=args.workers,
        rate_limit=args.rate_limit if args.rate_limit > 0 else None, burst=args.burst,
        balance=args.balance, url_ttl=args.url_ttl, max_body_bytes=args.max_body_mb * 1024 * 1024,
    )
    service = Service(cfg)
    print("infinityframe local service", flush=True)
    print(f"  url:   {service.url}", flush=True)
    print(f"  token: {service.token}", flush=True)
    print(f"  data:  {cfg.data_dir}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  warning: listening on {args.host}, not loopback: anyone who can reach it and "
              "has a token can spend its samples", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        service.run()
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
    from .demo import run_demo

    run_demo(Path(args.out), jobs=args.jobs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="infinityframe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the local Infinity-compatible service")
    serve.add_argument("--data-dir", help="database and results (default: $INFINITYFRAME_DATA_DIR or "
                                          "~/.local/share/infinityframe)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    serve.add_argument("--workers", type=int, help="jobs rendered at once (default: one per core)")
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
    demo.add_argument("--jobs", type=int, default=12, help="jobs in the demo sweep (default 12)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
