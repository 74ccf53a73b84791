"""Off-policy estimators validated in the simulator (simulated): python results/off_policy/validate.py CONTEXTS SEEDS
(the numbers in validation.json: 1400 50). Behaviour: the learned cheap-feature policy at lam 1500; candidates below."""
import copy, json, sys, time
import numpy as np
from sleeptime.experiments import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.policy import ALL_FEATURES, CHEAP_POLICY_FEATURES, FixedPolicy, paper_policy
from sleeptime.policy import validate_estimators
n = int(sys.argv[1]); seeds = int(sys.argv[2])
t = time.time()
sc = build_scenario(ScenarioConfig(n_contexts=n, seed=0), progress=False)
learned = train_learned_policy(sc, features=CHEAP_POLICY_FEATURES)
learned.set_params(lam=1500.0)
cheaper = copy.deepcopy(learned); cheaper.set_params(lam=500.0); cheaper.name = "learned-lam500"
cands = {"learned-lam500": cheaper, "paper(k1,b0)": paper_policy(), "fixed(none,b1)": FixedPolicy(0, 1)}
print("setup", round(time.time() - t, 1), "s; test items", sc.test.n_contexts, sc.test.n_queries, file=sys.stderr)
t = time.time()
q = validate_estimators(learned, cands, sc.test, sc.env, features=list(CHEAP_POLICY_FEATURES), seeds=seeds, n_boot=200)
print("validate", round(time.time() - t, 1), "s", file=sys.stderr)
json.dump([x.to_json() for x in q], open(f"validation-{n}-{seeds}.json", "w"), indent=1)
for x in q:
    print(f"{x.candidate:16s} eps={x.epsilon:.2f} {x.estimator:5s} acc bias {x.accuracy_bias:+.4f} sd {x.accuracy_spread:.4f} cov {x.accuracy_coverage:.2f} | usd rel bias {x.usd_relative_bias:+.4f} cov {x.usd_coverage:.2f} width {x.usd_interval_width/x.true_usd_per_query:.3f} | ess {x.effective_sample_size:.0f}")
