"""The update loop under drift (simulated): python results/off_policy/drift.py CONTEXTS PERIODS RATIO [BATCH]
(drift-2800-4-4.json: 2800 4 4; drift-2800-4-1-b1.json: 2800 4 1 1, the batch discount withdrawn),
or python results/off_policy/drift.py CONTEXTS PERIODS p2 (drift-2800-4-p2.json: the traffic moves
from GSM-Symbolic P1 to the harder P2 halfway, a second scenario of CONTEXTS contexts, seed 1). A learned cheap-feature policy (lam 1500) is trained on the scenario's
training contexts under list prices; the held-out contexts arrive in PERIODS periods; halfway the
model's price is multiplied by RATIO and, given BATCH, sleep-time work pays BATCH of the list price
(from 0.5). Three policies: frozen, updating from its own logs
(exploration 0.1, admitted by a DR lower bound), and retrained on a full exploration grid of the
first period after the drift (its grid's USD reported). `sleeptime run experiments/off_policy.toml`
runs the same with the validation."""

import json, sys, time
from sleeptime.experiments import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.policy import CHEAP_POLICY_FEATURES, domain_drift, drift_scenario, price_drift
from sleeptime.reporting import plot_drift

n, periods = int(sys.argv[1]), int(sys.argv[2])
domain = sys.argv[3] == "p2"
ratio = 1.0 if domain else float(sys.argv[3])
batch = float(sys.argv[4]) if len(sys.argv) > 4 else None
tag = f"{n}-{periods}-" + (
    "p2" if domain else f"{ratio:g}" + (f"-b{batch:g}" if batch is not None else "")
)
t0 = time.time()
sc = build_scenario(ScenarioConfig(n_contexts=n, seed=0), progress=False)
learned = train_learned_policy(sc, features=CHEAP_POLICY_FEATURES)
learned.set_params(lam=1500.0)
if domain:
    p2 = build_scenario(
        ScenarioConfig(n_contexts=n, seed=1, benchmark="stateful-gsm-symbolic-p2"), progress=False
    )
    world = domain_drift(
        (sc.test, sc.env, "GSM-Symbolic P1"), (p2.test, p2.env, "GSM-Symbolic P2"), periods=periods
    )
else:
    world = price_drift(sc.test, sc.env, periods=periods, ratio=ratio, batch_discount=batch)
half = periods // 2
rows, grid = drift_scenario(learned, world, epsilon=0.1, seed=0, retrain_at=half)
out = {
    "label": "simulated",
    "contexts": n,
    "periods": periods,
    "ratio": ratio,
    "batch_discount": batch,
    "domain": "P1 -> P2" if domain else None,
    "lam": 1500.0,
    "epsilon": 0.1,
    "retrained_after_period": half,
    "grid_usd": grid,
    "periods_rows": [r.to_json() for r in rows],
    "serving_usd_per_period": [
        float(r.served_usd_per_query) * world[r.period][0].n_queries for r in rows
    ],
    "queries_per_period": [w[0].n_queries for w in world],
}
json.dump(out, open(f"drift-{tag}.json", "w"), indent=1)
for r in rows:
    u = r.update
    print(
        f"t={r.period} {r.prices:28s} "
        + " ".join(
            f"{k} acc {r.accuracy[k]:.3f} usd/1k {1000 * r.usd_per_query[k]:.3f} at frozen's acc {1000 * r.usd_at_equal_accuracy[k]:.3f}"
            for k in r.accuracy
        )
        + f" | admitted {u.admitted or '-'} cur {u.current_value:.4f} "
        + " ".join(f"{k} {v[0]:.4f} (lo {v[1]:.4f})" for k, v in u.candidates.items())
    )
    if r.previous_candidates_value:
        print(
            "     true value of last period's candidates here:",
            {k: round(v, 4) for k, v in r.previous_candidates_value.items()},
            "frozen",
            round(r.value["frozen"], 4),
        )
print("grid USD", grid, "took", round(time.time() - t0), "s")
plot_drift(
    rows,
    f"drift-{tag}.png",
    lam=learned.lam,
    change=half,
    label="P1 -> P2" if domain else world[-1][2].split(", ", 1)[1],
)
