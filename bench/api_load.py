"""B6: the people list and search API under load, ours against the usual DRF endpoint.

Both are served the same way, one after the other: gunicorn with the same number of sync
workers, production settings (``REGISTRU_ENV=production``; requests carry
``X-Forwarded-Proto: https`` as they would from the TLS proxy), the same database, the same
middleware, the same token lookup. wrk drives each scenario with 8 connections and 2 threads
for a warm-up and then the measured run; every request is authenticated, and any answer that
is not 2xx counts as a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.corpus import Corpus
from bench.dataset import Spec
from bench.env import ROOT, Target, registru_env
from bench.loader import ensure_loaded, log
from bench.queries import QueryMaker
from bench.search_latency import QUERY_SEED, vocabulary

SCENARIOS = ("list first page", "list deep page", "search common", "search no match")
GOAL_RATIO = {"list first page": 4.0, "list deep page": 4.0, "search common": 10.0, "search no match": 10.0}
GOAL_P99_MS = 100.0
PORTS = {"ours": 8401, "peer": 8402}
PAGE = 25
DEEP_PAGE = 2000  # the peer's ?page=2000: rows 49,976 to 50,000 of the list
TERMS = 20  # distinct search terms per scenario, sent in turn
LUA = ROOT / "bench" / "wrk" / "rotate.lua"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""

    def line(self) -> str:
        return f"{self.method}\t{self.path}\t{self.body}"


def run(args: argparse.Namespace, target: Target) -> None:
    if not shutil.which("wrk"):
        sys.exit("B6 needs wrk: apt-get install -y wrk")
    if args.smoke:
        args.duration, args.warmup = 3, 1
    ensure_loaded(target, Spec(args.people), reload=args.reload)
    collect_static(target)
    token = make_token()
    requests = scenario_requests(args.people)
    sides = [args.only] if args.only else ["ours", "peer"]
    results: dict[str, dict[str, Any]] = {}
    for side in sides:
        with serve(side, target, args.workers) as port:
            check_answers(side, port, token, requests[side])
            results[side] = {scenario: load(port, token, requests[side][scenario], args) for scenario in SCENARIOS}
    summary = {
        "benchmark": "api",
        "database": target.db,
        "people": args.people,
        "load_average_at_start": args.load_at_start,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "threads": args.threads,
        "gunicorn_sync_workers": args.workers,
        "results": results,
    }
    print_report(summary)
    log(f"results: {report.save(f'api-{target.label}', summary)}")


def collect_static(target: Target) -> None:
    """Production settings serve static files from the manifest; make it once."""
    env = os.environ | registru_env(target, production=True)
    subprocess.run(
        [sys.executable, "-m", "registru.config.cli", "collectstatic", "--noinput", "-v0"],
        env=env,
        check=True,
        cwd=ROOT,
    )


def make_token() -> str:
    from registru.accounts import services
    from registru.accounts.models import User
    from registru.core.actors import SystemActor
    from registru.core.context import Channel, audit_context

    with audit_context(Channel.CLI):
        _token, raw = services.create_api_token(
            User.objects.get(username="dora"), "benchmark", actor=SystemActor("benchmark")
        )
    return raw


def scenario_requests(people: int) -> dict[str, dict[str, list[Request]]]:
    """What each side is asked, scenario by scenario; both sides get the same terms."""
    corpus = Corpus.load()
    maker = QueryMaker(corpus, vocabulary(), QUERY_SEED)
    common = _distinct(maker.common_prefix, TERMS)
    nothing = _distinct(maker.no_match, TERMS)
    deep_page = min(DEEP_PAGE, max(2, people // PAGE // 4))
    cursor = deep_cursor(corpus, (deep_page - 1) * PAGE - 1)
    return {
        "ours": {
            "list first page": [Request("GET", f"/api/v1/people?limit={PAGE}")],
            "list deep page": [Request("GET", f"/api/v1/people?limit={PAGE}&cursor={cursor}")],
            "search common": [_our_search(term) for term in common],
            "search no match": [_our_search(term) for term in nothing],
        },
        "peer": {
            "list first page": [Request("GET", "/api/v1/people")],
            "list deep page": [Request("GET", f"/api/v1/people?page={deep_page}")],
            "search common": [_peer_search(term) for term in common],
            "search no match": [_peer_search(term) for term in nothing],
        },
    }


def _distinct(make: Any, count: int) -> list[str]:
    terms: list[str] = []
    for _ in range(count * 50):
        text = make().text
        if text not in terms:
            terms.append(text)
        if len(terms) == count:
            break
    return terms


def deep_cursor(corpus: Corpus, row: int) -> str:
    """Our cursor after the given row of the list: the next page is the peer's deep page."""
    from registru.core.pagination import make_cursor

    return urllib.parse.quote(make_cursor(corpus.ids[row], "name"), safe="")


def _our_search(term: str) -> Request:
    return Request("POST", "/api/v1/people/search", json.dumps({"q": term, "limit": PAGE}, ensure_ascii=False))


def _peer_search(term: str) -> Request:
    return Request("GET", "/api/v1/people?" + urllib.parse.urlencode({"search": term}))


@contextlib.contextmanager
def serve(
    side: str, target: Target, workers: int, *, port: int | None = None, wsgi: str = "registru.config.wsgi:application"
) -> Iterator[int]:
    """Run one side under gunicorn for the duration of the block; yields its port."""
    port = port or PORTS[side]
    env = os.environ | registru_env(target, production=True)
    if side == "peer":
        env["DJANGO_SETTINGS_MODULE"] = "bench.peer_settings"
    command = [
        str(Path(sys.executable).with_name("gunicorn")), wsgi,
        "--workers", str(workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--pythonpath", str(ROOT), "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    log(f"serving {side} on port {port} with {workers} gunicorn sync workers")
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        _wait_until_up(port, server)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server on port {port} exited with {server.returncode}")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/people", headers={"X-Forwarded-Proto": "https"})
            connection.getresponse().read()
            return
        time.sleep(0.3)
    sys.exit(f"the server on port {port} did not start")


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


def fetch(port: int, token: str, request: Request) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = request.body.encode("utf-8") if request.body else None
    connection.request(
        request.method, request.path, body=body, headers=headers(token) | {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    payload = response.read()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload[:200]


def check_answers(side: str, port: int, token: str, requests: dict[str, list[Request]]) -> None:
    """Before any load: every scenario answers 200 with a page of the expected size."""
    expected = {"list first page": PAGE, "list deep page": PAGE, "search common": PAGE, "search no match": 0}
    for scenario, listed in requests.items():
        status, answer = fetch(port, token, listed[0])
        items = answer.get("items", answer.get("results")) if isinstance(answer, dict) else None
        if status != 200 or items is None or len(items) != expected[scenario]:
            sys.exit(f"{side}, {scenario}: answered {status} {str(answer)[:300]}")
        if scenario == "list deep page":
            log(f"{side}, deep page starts with person {items[0]['id']}")


def load(port: int, token: str, requests: list[Request], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as listing:
        listing.write("\n".join(request.line() for request in requests) + "\n")
    try:
        if args.warmup:
            _wrk(port, token, listing.name, args, args.warmup)
        return _wrk(port, token, listing.name, args, args.duration)
    finally:
        Path(listing.name).unlink()


def _wrk(port: int, token: str, listing: str, args: argparse.Namespace, seconds: int) -> dict[str, Any]:
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "60s",
        "-s", str(LUA), *[arg for name, value in headers(token).items() for arg in ("-H", f"{name}: {value}")],
        f"http://127.0.0.1:{port}", "--", listing,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH_RESULT (.*)$", out, re.MULTILINE)
    if not match:
        sys.exit(f"wrk said:\n{out}")
    raw = json.loads(match.group(1))
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non2xx": raw["non2xx"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
    }


def print_report(summary: dict[str, Any]) -> None:
    results = summary["results"]
    header = [
        "scenario", "ours req/s", "peer req/s", "ratio", "goal", "ours p50 ms", "ours p99 ms",
        "peer p50 ms", "peer p99 ms", "non-2xx ours/peer", "pass",
    ]  # fmt: skip
    rows = []
    for scenario in SCENARIOS:
        mine = results.get("ours", {}).get(scenario)
        theirs = results.get("peer", {}).get(scenario)
        ratio = mine["rps"] / theirs["rps"] if mine and theirs and theirs["rps"] else float("nan")
        passed = bool(
            mine and theirs and ratio >= GOAL_RATIO[scenario] and mine["p99_ms"] < GOAL_P99_MS
            and mine["non2xx"] == 0 and theirs["non2xx"] == 0 and mine["socket_errors"] == 0
        )  # fmt: skip
        rows.append([
            scenario, _rps(mine), _rps(theirs), f"{ratio:,.1f}×",
            f"≥ {GOAL_RATIO[scenario]:.0f}×, p99 < {GOAL_P99_MS:.0f} ms",
            _ms(mine, "p50_ms"), _ms(mine, "p99_ms"), _ms(theirs, "p50_ms"), _ms(theirs, "p99_ms"),
            f"{_count(mine)}/{_count(theirs)}", "pass" if passed else "FAIL",
        ])  # fmt: skip
    print(
        f"\nB6 API under load, {summary['database']}, {summary['people']:,} people, "
        f"{summary['duration_s']} s per scenario, {summary['connections']} connections, "
        f"{summary['gunicorn_sync_workers']} gunicorn sync workers\n"
    )
    print(report.table(header, rows))


def _rps(result: dict[str, Any] | None) -> str:
    return f"{result['rps']:,.1f}" if result else "–"


def _ms(result: dict[str, Any] | None, key: str) -> str:
    return report.ms(result[key]) if result else "–"


def _count(result: dict[str, Any] | None) -> str:
    return str(result["non2xx"] + result["socket_errors"]) if result else "–"
