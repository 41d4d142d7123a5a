"""``python -m bench BENCHMARK [options]``; without arguments, the list of benchmarks.

    make bench BENCH_ARGS="search --db sqlite"            # B5, a million people
    make bench BENCH_ARGS="api --db postgres"             # B6, 200,000 people under load
    make bench BENCH_ARGS="campaign"                      # B8, 10,000 invitations over SMTP
    make bench BENCH_ARGS="access --db postgres"          # masking and view budget, on against off
    make bench BENCH_ARGS="search --smoke"                # seconds, to see that it works

The audit-trail benchmarks (B1, B3, B10) have a command of their own: ``python -m bench.audit``.

Results are printed as Markdown and saved under var/bench/results/; docs/benchmarks.md
holds the figures of record.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import NamedTuple

from bench import report
from bench.env import DATABASES, Target, setup_django

SMOKE_PEOPLE = 2000


def _common(parser: argparse.ArgumentParser, people: int) -> None:
    parser.add_argument("--db", choices=DATABASES, default="sqlite", help="database engine (default sqlite)")
    parser.add_argument("--people", type=int, default=people, help=f"generated people (default {people:,})")
    parser.add_argument("--reload", action="store_true", help="reload the data even if a cached copy exists")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_PEOPLE:,} people, a few seconds of work")
    parser.add_argument(
        "--wait-quiet", type=float, default=0, metavar="MINUTES",
        help="first wait up to this long for the load average to drop below 1",
    )  # fmt: skip


def _search_options(parser: argparse.ArgumentParser) -> None:
    _common(parser, 1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per class (default 200)")
    parser.add_argument(
        "--peer-queries",
        type=int,
        default=None,
        help="queries per class for the peer (default: as --queries)",
    )
    parser.add_argument("--no-agent", action="store_true", help="skip the run as a sales agent")


def _api_options(parser: argparse.ArgumentParser) -> None:
    _common(parser, 200_000)
    parser.add_argument("--duration", type=int, default=30, help="seconds per scenario (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds per scenario (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--only", choices=("ours", "peer"), help="serve only one side")


def _campaign_options(parser: argparse.ArgumentParser) -> None:
    from bench.campaign_send import add_options

    add_options(parser)


class Benchmark(NamedTuple):
    module: str
    description: str
    options: Callable[[argparse.ArgumentParser], None]
    # Benchmarks that build their own databases and processes: ``module.main(args)`` is called
    # without the shared data set and without setting Django up in this process.
    own_setup: bool = False


BENCHMARKS = {
    "search": Benchmark(
        "bench.search_latency", "B5: search latency on 1,000,000 people, ours against Django icontains",
        _search_options,
    ),
    "api": Benchmark(
        "bench.api_load", "B6: list and search API under load (wrk) on 200,000 people, ours against DRF",
        _api_options,
    ),
    "access": Benchmark(
        "bench.access_load", "masking and the view budget on the people API (wrk), on against off",
        _api_options,
    ),
    "campaign": Benchmark(
        "bench.campaign_send", "B8: 10,000 campaign invitations over SMTP, ours against Django send_mail, then a kill",
        _campaign_options, own_setup=True,
    ),
}  # fmt: skip


def parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    main = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n", 1)[0])
    sub = main.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    benchmarks = {}
    for name, benchmark in BENCHMARKS.items():
        benchmarks[name] = sub.add_parser(name, help=benchmark.description, description=benchmark.description)
        benchmark.options(benchmarks[name])
    return main, benchmarks


def main(argv: list[str]) -> int:
    cli, benchmarks = parsers()
    if not argv:
        # No arguments: say what there is to run rather than start an hour-long benchmark.
        cli.print_help()
        for benchmark in benchmarks.values():
            print("\n" + benchmark.format_help())
        return 0
    args = cli.parse_args(argv)
    benchmark = BENCHMARKS[args.benchmark]
    if benchmark.own_setup:
        importlib.import_module(benchmark.module).main(args)
        return 0
    if args.smoke:
        args.people = SMOKE_PEOPLE
    target = Target(args.db, args.people)
    if args.wait_quiet:
        report.wait_until_quiet(args.wait_quiet)
    args.load_at_start = report.load_average()
    # Settings are read once per process, from the environment: set it before importing
    # anything of Registru's.
    setup_django(target)
    module = importlib.import_module(benchmark.module)
    module.run(args, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
