"""Masking and the bulk-view budget under load: the people list API with both, against the
same endpoint with both off (``bench/controls_off_wsgi.py``), in the same run.

Both sides are served the same way as in B6 (gunicorn sync workers, production settings,
wrk with 8 connections); one API token of the DPO makes every request, so all of them charge
one user's budget: the worst case for its ledger, where parallel requests touch the same rows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from bench import report
from bench.api_load import Request, _distinct, _our_search, collect_static, fetch, load, make_token, serve
from bench.corpus import Corpus
from bench.dataset import Spec
from bench.env import Target
from bench.loader import ensure_loaded, log
from bench.queries import QueryMaker
from bench.search_latency import QUERY_SEED, vocabulary

SCENARIOS = ("list first page", "list 100 per page", "search common")
GOAL = 0.9
SIDES = {
    "controls on": ("registru.config.wsgi:application", 8411),
    "controls off": ("bench.controls_off_wsgi:application", 8412),
}
TERMS = 20


def run(args: argparse.Namespace, target: Target) -> None:
    if not shutil.which("wrk"):
        sys.exit("this benchmark needs wrk: apt-get install -y wrk")
    if args.smoke:
        args.duration, args.warmup = 3, 1
    ensure_loaded(target, Spec(args.people), reload=args.reload)
    collect_static(target)
    token = make_token()
    requests = _requests()
    results: dict[str, dict[str, Any]] = {}
    for side, (wsgi, port) in SIDES.items():
        _fresh_budget()
        with serve(side, target, args.workers, port=port, wsgi=wsgi) as bound:
            _check(side, bound, token, requests)
            results[side] = {scenario: load(bound, token, requests[scenario], args) for scenario in SCENARIOS}
    summary = {
        "benchmark": "access", "database": target.db, "people": args.people,
        "load_average_at_start": args.load_at_start, "duration_s": args.duration, "warmup_s": args.warmup,
        "connections": args.connections, "threads": args.threads, "gunicorn_sync_workers": args.workers,
        "results": results,
    }  # fmt: skip
    print_report(summary)
    log(f"results: {report.save(f'access-{target.label}', summary)}")


def _requests() -> dict[str, list[Request]]:
    maker = QueryMaker(Corpus.load(), vocabulary(), QUERY_SEED)
    return {
        "list first page": [Request("GET", "/api/v1/people?limit=25")],
        "list 100 per page": [Request("GET", "/api/v1/people?limit=100")],
        "search common": [_our_search(term) for term in _distinct(maker.common_prefix, TERMS)],
    }


def _fresh_budget() -> None:
    """Each side starts with an empty ledger and no block, as on a new day."""
    from registru.accounts.models import ViewAlert, ViewBlock, ViewedPerson

    ViewBlock.objects.all().delete()
    ViewAlert.objects.all().delete()
    ViewedPerson.objects.all().delete()


def _check(side: str, port: int, token: str, requests: dict[str, list[Request]]) -> None:
    for scenario, listed in requests.items():
        status, answer = fetch(port, token, listed[0])
        if status != 200 or not isinstance(answer, dict) or not answer.get("items"):
            sys.exit(f"{side}, {scenario}: answered {status} {str(answer)[:300]}")
        emails = [email for item in answer["items"] for email in item["emails"]]
        masked = bool(emails) and all("***@" in email for email in emails)
        if emails and masked != (side == "controls on"):
            sys.exit(f"{side}, {scenario}: masking is {'on' if masked else 'off'}, expected the opposite")


def print_report(summary: dict[str, Any]) -> None:
    on, off = summary["results"]["controls on"], summary["results"]["controls off"]
    header = ["scenario", "on req/s", "off req/s", "ratio", "goal", "on p50 ms", "on p99 ms", "off p99 ms",
              "non-2xx on/off", "pass"]  # fmt: skip
    rows = []
    for scenario in SCENARIOS:
        ratio = on[scenario]["rps"] / off[scenario]["rps"] if off[scenario]["rps"] else float("nan")
        errors = (on[scenario]["non2xx"] + on[scenario]["socket_errors"], off[scenario]["non2xx"])
        rows.append([
            scenario, f"{on[scenario]['rps']:,.1f}", f"{off[scenario]['rps']:,.1f}", f"{ratio:.2f}×",
            f"≥ {GOAL}×", report.ms(on[scenario]["p50_ms"]), report.ms(on[scenario]["p99_ms"]),
            report.ms(off[scenario]["p99_ms"]), f"{errors[0]}/{errors[1]}",
            "pass" if ratio >= GOAL and errors == (0, 0) else "FAIL",
        ])  # fmt: skip
    print(
        f"\nMasking and view budget on the people API, {summary['database']}, {summary['people']:,} people, "
        f"{summary['duration_s']} s per scenario, {summary['connections']} connections, "
        f"{summary['gunicorn_sync_workers']} gunicorn sync workers\n"
    )
    print(report.table(header, rows))
