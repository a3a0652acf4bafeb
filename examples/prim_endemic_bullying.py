"""Scenario discovery with the EMA Workbench: which combinations of regulator pressure, regulator
stance and funding give endemic bullying?

    pip install -e ".[ema]"
    python examples/prim_endemic_bullying.py              # 200 experiments, about 5 minutes
    python examples/prim_endemic_bullying.py --experiments 40 --weeks 60   # a quick look

Pressure and funding are uncertainties (the world a trust faces), the regulator's stance a lever
(a choice); each experiment runs a small trust with the same seed. A run counts as "endemic"
when at least 40% of staff were bullied by other staff in the last 12 months, well above the NHS
Staff Survey's level that the baseline is calibrated to (`--threshold` changes it). PRIM then
finds the box of parameter values where endemic runs concentrate. See docs/ema.md.
"""

from __future__ import annotations

import argparse
from inspect import signature

import numpy as np
import pandas as pd
from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator, perform_experiments
from ema_workbench.analysis import prim

from culturesim import load_scenario
from culturesim.ema import ema_model

UNCERTAINTIES = ["drivers.regulator_pressure.value", ("drivers.funding.value", 0.6, 1.4)]
LEVERS = ["regulator.stance"]
OUTCOMES = ["bullied_by_staff", "reproduction_number", "care_quality"]
ENDEMIC = 0.4
"""Share of staff bullied by staff in the last 12 months from which bullying counts as endemic."""


def discover(
    experiments: int = 200,
    weeks: int = 104,
    staff: int = 300,
    workers: int = 1,
    seed: int = 1,
    threshold: float = ENDEMIC,
) -> tuple[pd.DataFrame, dict, prim.PrimBox]:
    """Run the design and return (experiments, outcomes, PRIM's chosen box)."""
    trust = load_scenario("baseline").with_overrides(
        {"run.steps": weeks, "organisation.staff_per_trust": staff}
    )
    model = ema_model(trust, UNCERTAINTIES, LEVERS, OUTCOMES, seed=seed)
    np.random.seed(seed)  # the Workbench's samplers draw from numpy's global generator
    policies = 4
    scenarios = max(1, experiments // policies)
    if workers > 1:
        with MultiprocessingEvaluator(model, n_processes=workers) as evaluator:
            results = evaluator.perform_experiments(scenarios=scenarios, policies=policies)
    else:
        with SequentialEvaluator(model) as evaluator:
            results = perform_experiments(
                model, scenarios=scenarios, policies=policies, evaluator=evaluator
            )
    table, outcomes = results
    endemic = outcomes["bullied_by_staff"] >= threshold
    inputs = table[[p.name for p in (*model.uncertainties, *model.levers)]]
    # EMA Workbench 2.x asks for the density a box must reach; 3.x (Python 3.12+) dropped it.
    density = {"threshold": 0.8} if "threshold" in signature(prim.Prim).parameters else {}
    box = prim.Prim(inputs, endemic, **density).find_box()
    return table, outcomes, box


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=ENDEMIC)
    arguments = parser.parse_args()
    table, outcomes, box = discover(
        arguments.experiments,
        arguments.weeks,
        arguments.staff,
        arguments.workers,
        threshold=arguments.threshold,
    )
    endemic = outcomes["bullied_by_staff"] >= arguments.threshold
    print(f"{len(table)} experiments, {endemic.sum()} endemic (bullied by staff >= ", end="")
    print(f"{arguments.threshold:.0%})")
    stats, limits = box.inspect(style="data")[0]
    print(
        f"PRIM's box: {int(stats['n'])} experiments, density {stats['density']:.2f} (share "
        f"endemic inside), coverage {stats['coverage']:.2f} (share of endemic runs inside)"
    )
    print(limits.to_string())


if __name__ == "__main__":
    main()
