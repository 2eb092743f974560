"""Turn a reliability report (JSON lines) into the Markdown table of docs/reliability.md.

    INFINITYFRAME_RELIABILITY=long INFINITYFRAME_RELIABILITY_REPORT=report.jsonl pytest tests/reliability
    python tests/reliability/summarise.py report.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def _n(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _sum(records: list[dict[str, Any]], key: str) -> int:
    return sum(int(r.get(key, 0)) for r in records)


def summarise(records: list[dict[str, Any]]) -> str:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append(record)
    rows: list[tuple[str, str, str]] = []
    for rate in sorted({r["rate"] for r in by_kind["faults"]}):
        runs = [r for r in by_kind["faults"] if r["rate"] == rate]
        faults: Counter[str] = Counter()
        for r in runs:
            faults.update(r["faults"])
        delays = faults.pop("delay", 0)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(faults.items()) if v)
        rows.append((f"Full workflow through the fault proxy at {rate:.0%}",
                     f"{_n(len(runs), 'run')} (seeds), {_sum(runs, 'jobs')} jobs, {_sum(runs, 'requests')} requests, "
                     f"{_sum(runs, 'injected')} failures injected ({shown}) and {delays} delays",
                     f"{sum(r['held'] for r in runs)}/{len(runs)}: one batch each, every job once "
                     f"({_sum(runs, 'reruns')} re-runs), ledger balanced, every folder whole"))
    kills = by_kind["kill9"]
    if kills:
        points = Counter(p.split("@")[0] for r in kills for p in r["landed"])
        rows.append(("`kill -9` of the service at random points, restart on the same port",
                     f"{_n(len(kills), 'run')} (seeds), {_n(_sum(kills, 'kills'), 'kill')} "
                     f"({', '.join(f'{k} {v}' for k, v in sorted(points.items()))}), {_sum(kills, 'jobs')} jobs",
                     f"{sum(r['held'] for r in kills)}/{len(kills)}: one batch each, every job succeeded and charged "
                     f"once ({_sum(kills, 'reruns')} re-run after a kill), ledger balanced, every zip and folder "
                     "whole"))
    starting = by_kind["kill9_starting"]
    if starting:
        rows.append(("`kill -9` of the service within 50 ms of its pool's workers appearing",
                     f"{_n(len(starting), 'run')} (seeds), {_sum(starting, 'workers')} workers, "
                     f"{_sum(starting, 'processes')} processes below the service",
                     f"{sum(r['held'] for r in starting)}/{len(starting)}: none outlived the service by 10 s"))
    client = by_kind["client_kill"]
    if client:
        landed = sum(k != "finished first" for r in client for k in r["kills"])
        rows.append(("Client process killed mid-download (SIGKILL), then resumed",
                     f"{_n(len(client), 'run')}, {_n(landed, 'kill')}, "
                     f"{_sum(client, 'jobs')} jobs",
                     f"{sum(r['held'] for r in client)}/{len(client)}: only whole folders after each kill; "
                     f"the resume fetched only the {_sum(client, 'resumed')} missing jobs"))
    for record in by_kind["fuzz"]:
        outcomes = Counter(record["outcomes"])
        total = sum(outcomes.values())
        ok = sum(v for k, v in outcomes.items() if k.endswith(": ok"))
        errors: Counter[str] = Counter()
        for key, count in outcomes.items():
            if not key.endswith(": ok"):
                errors[key.split(": ")[1]] += count
        rows.append(("Hypothesis: fuzzed frames, job dicts and sample() overrides through "
                     "sample/validate/errors/estimate/submit (pandas and polars)",
                     f"{record['examples']} examples per test, {total} calls",
                     f"all: {ok} results, {', '.join(f'{v} {k}' for k, v in errors.most_common())}; "
                     "no other exception, no 5xx"))
    for record in by_kind["schemathesis"]:
        rows.append(("Schemathesis on /openapi.json (examples, coverage, fuzzing, stateful)",
                     f"up to {record['examples']} examples per operation: {record['summary']}",
                     "no 5xx; status codes, content types, headers and bodies as documented"))
    security = {k: by_kind[k] for k in ("security_routes", "signed_urls", "body_limit", "token") if by_kind[k]}
    for r in security.get("security_routes", []):
        rows.append(("Every /api/ route without a token, with wrong or malformed ones, with another account's",
                     f"{r['operations']} operations, {r['requests']} requests",
                     "401 / 404 as documented, nothing created, none of the other account's ids or names shown"))
    for r in security.get("signed_urls", []):
        rows.append(("Result URLs expired, altered, unsigned, or aimed at other files", f"{r['requests']} requests",
                     "403 for every altered or expired URL (404 off the results path); untouched ones still work"))
    for r in security.get("body_limit", []):
        rows.append(("Bodies over the size limit (declared length, chunked, through the client)",
                     f"{r['requests']} requests", "413, nothing created; just under the limit accepted"))
    for r in security.get("token", []):
        rows.append(("The token in logs (DEBUG, client and service), reprs, errors, attrs, files",
                     f"{r['log_records']} log records, {r['reprs']} reprs and errors, {r['files']} files",
                     "not found anywhere (the data dir's `token` file aside)"))
    lines = ["| what was tried | how many times | what held |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1])
    print(summarise([json.loads(line) for line in path.read_text().splitlines() if line.strip()]))
