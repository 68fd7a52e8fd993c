"""The soak behind ``scripts/chaos``: the fault scenarios of ``tests.faults.harness`` at
random for as long as asked (or each once, ``--once``), then a table per scenario.

    scripts/chaos --minutes 10
    scripts/chaos --once --scenarios half_open,cut,outage,kill --profile default --outage 20-45
    scripts/chaos --once --library /path/to/other/python/src     # measure another riverboat

``--profile default`` keeps riverboat's own deadlines (the test suite shortens them);
``--library`` puts another riverboat first on the workers' path (one without
``DatabaseTimeouts`` runs with its own defaults). Exit status 1 if an invariant broke.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict

from tests.faults.harness import SCENARIOS, Outcome, Settings, Timing, cluster, run_scenario

COUNTS = ("jobs", "faults", "lost", "stuck", "double_run", "unexplained", "impossible", "stop_hung")
COLUMNS = ("scenario", "runs", *(name.replace("_", " ") for name in COUNTS), "recover s (median)", "recover s (max)")


def _range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def table(outcomes: list[Outcome]) -> str:
    by_scenario: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_scenario[outcome.scenario].append(outcome)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for scenario, runs in sorted(by_scenario.items()):
        recovered = [o.recover for o in runs if o.recover is not None]
        never = len(runs) - len(recovered)
        median = f"{statistics.median(recovered):.1f}" if recovered else "never"
        worst = "never" if never else f"{max(recovered):.1f}"
        counts = [sum(getattr(o, name) for o in runs) for name in COUNTS]
        lines.append("| " + " | ".join([scenario, str(len(runs)), *map(str, counts), median, worst]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run scenarios at random")
    parser.add_argument("--once", action="store_true", help="run each scenario once instead")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--profile", choices=["fast", "default"], default="fast", help="the workers' deadlines")
    parser.add_argument("--library", default=None, help="python/src of the riverboat to run (default: this one)")
    parser.add_argument("--outage", type=_range, default=(2.0, 4.0), help="seconds an outage lasts: MIN-MAX")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="print each run's problems and log tail")
    options = parser.parse_args(argv)
    names = options.scenarios.split(",")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    timing = Timing(outage=options.outage, down=options.outage if options.outage[1] > 10 else (0.0, 0.0))
    base = Settings(profile=options.profile, library=options.library)
    outcomes: list[Outcome] = []
    print(f"chaos: seed {seed}, profile {options.profile}, library {options.library or 'this checkout'}", flush=True)
    deadline = time.monotonic() + options.minutes * 60
    with cluster() as started:
        queue = list(names) if options.once else []
        while queue or (not options.once and time.monotonic() < deadline):
            name = queue.pop(0) if options.once else rng.choice(names)
            outcome, logs = run_scenario(started, name, base=base, timing=timing, seed=rng.randrange(1 << 30))
            outcomes.append(outcome)
            recover = "never" if outcome.recover is None else f"{outcome.recover:.1f} s"
            state = "ok" if outcome.ok else f"{len(outcome.problems)} problems"
            print(
                f"  {name}: {outcome.jobs} jobs, recovered in {recover}, {outcome.seconds:.0f} s, {state}", flush=True
            )
            if options.verbose and not outcome.ok:
                print("\n".join(f"    {p}" for p in outcome.problems[:20]))
                print(logs[-4000:])
    print(table(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
