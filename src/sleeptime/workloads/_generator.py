"""The built-in workload generator: word-problem contexts with several questions each.

Templates (written for this project, in :mod:`sleeptime.workloads._templates`, which also holds
their types) sample their values from a seeded random generator, so ``generate_workload(n, seed)`` is the same on every
machine. Every answer is computed exactly (fractions) from the sampled values. Each question
records its number of reasoning steps and how predictable it is from the context: ``high`` (the
obvious next question), ``medium`` (a natural follow-up) or ``low`` (a surprising question).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction

from sleeptime._errors import WorkloadError
from sleeptime.workloads._templates import TEMPLATES, ContextTemplate, V
from sleeptime.workloads._types import Context, Query, Workload

Number = int | Fraction

#: Contexts of the built-in workload (``load_workload("builtin")``): the quickstart's size.
BUILTIN_CONTEXTS = 1400
#: Mean queries per context by domain in the policy scenarios: hot and cold documents; the
#: mean over domains is 4. The scenarios draw each context's count from a geometric
#: distribution with its domain's mean (a context's questions are drawn from its pool).
BUILTIN_QUERY_MEANS: dict[str, float] = {
    "shopping": 1.5, "cooking": 2.0, "travel": 2.5, "finance": 3.5,
    "school": 5.0, "garden and farm": 5.5, "home and health": 8.0,
}  # fmt: skip

#: Predictability levels of generated questions, from most to least expected.
PREDICTABILITY_LEVELS = ("high", "medium", "low")
_LEVEL_SCORE = {"high": 2, "medium": 1, "low": 0}


def format_number(value: Number) -> str:
    """An exact answer as text: ``12``, ``12.5``, ``-3.25``; refuses non-terminating decimals."""
    frac = Fraction(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    den = frac.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        raise ValueError(f"{value} has no finite decimal form")
    places = 0
    while (frac * 10**places).denominator != 1:
        places += 1
    return f"{float(frac):.{places}f}"


def render(template: ContextTemplate, rng: random.Random) -> tuple[str, list[tuple[str, str]], V]:
    """Sample values and render the context and every (question, answer) of ``template``."""
    values = V(template.sample(rng))
    shown = {k: format_number(v) if isinstance(v, Fraction) else v for k, v in values.items()}
    context = template.text.format(**shown)
    qa = [(q.text.format(**shown), format_number(q.answer(values))) for q in template.questions]
    return context, qa, values


def generate_workload(
    n_contexts: int = 200,
    *,
    seed: int = 0,
    domains: Sequence[str] | None = None,
) -> Workload:
    """Generate ``n_contexts`` contexts, cycling through the templates in a seeded order.

    Every context carries all of its template's questions (at least five). ``domains`` keeps
    only templates of those domains. Context meta: ``benchmark="builtin"``, ``template``,
    ``domain``, and the sampled ``values``; query meta: ``n_steps``, ``predictability`` (a level
    of :data:`PREDICTABILITY_LEVELS`) and ``predictability_score`` (2, 1 or 0).
    """
    if n_contexts < 1:
        raise WorkloadError(f"n_contexts must be at least 1, not {n_contexts}")
    templates = [t for t in TEMPLATES if domains is None or t.domain in domains]
    if not templates:
        known = sorted({t.domain for t in TEMPLATES})
        raise WorkloadError(f"no template has a domain in {list(domains or [])}; known: {known}")
    order = random.Random(seed).sample(range(len(templates)), len(templates))
    contexts = []
    for i in range(n_contexts):
        template = templates[order[i % len(templates)]]
        rng = random.Random(f"{seed}:{i}")
        text, qa, values = render(template, rng)
        queries = tuple(
            Query(
                f"q{j}",
                question,
                answer,
                "numeric",
                {
                    "n_steps": spec.n_steps,
                    "predictability": spec.predictability,
                    "predictability_score": _LEVEL_SCORE[spec.predictability],
                },
            )
            for j, ((question, answer), spec) in enumerate(zip(qa, template.questions, strict=True))
        )
        meta = {
            "benchmark": "builtin",
            "template": template.name,
            "domain": template.domain,
            "values": {
                k: format_number(v) if isinstance(v, (int, Fraction)) else v
                for k, v in values.items()
            },
        }
        contexts.append(Context(f"builtin-{seed}-{i:05d}", text, queries, meta))
    return Workload(tuple(contexts), "builtin", f"builtin(seed={seed})")
