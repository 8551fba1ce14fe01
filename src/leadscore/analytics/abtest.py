"""A/B tests of nurture content (SPEC M5): two-proportion tests against a control.

The statistics are statsmodels', not ours: ``proportions_ztest`` for the z test
(pooled variance), ``confint_proportions_2indep`` for the confidence interval of the
difference, ``multipletests`` (Holm) when several variants face one control, and
``NormalIndPower`` for the sample size. This module only decides what to feed them
and how to read the answer.

Winner rule (the same for every test, so nobody picks the rule after the result):

1. Every arm must have at least the planned sample size (from the control's rate,
   the minimum detectable effect and the power); otherwise the verdict is
   ``keep running`` and no winner is named.
2. Otherwise, a variant whose Holm-adjusted p-value is below ``alpha`` wins if its
   rate is higher than the control's, and loses if lower.
3. Otherwise: ``no difference detected``.

A warning is added when the normal approximation is shaky (fewer than 5 successes
or failures in an arm) or when an arm has no conversions at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics.funnel import ensure
from leadscore.analytics.inputs import ASSIGNMENTS, STAGES, AnalyticsInputError


@dataclass(frozen=True)
class SampleSize:
    """Contacts needed per arm to detect ``baseline -> target`` with the given power."""

    per_control: int
    per_variant: int
    total: int
    effect_size: float
    exact_per_control: float
    baseline: float
    target: float


def sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> SampleSize:
    """Sample size for a two-proportion test (Cohen's h with the normal power model).

    Args:
        baseline: the control's conversion rate (0-1).
        mde: minimum detectable effect, absolute (0.02 = +2 points) or relative
            (0.1 = +10 % of the baseline) when ``relative``.
        ratio: variant size / control size.
        alternative: ``two-sided``, ``larger`` or ``smaller``.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if not 0 < baseline < 1:
        raise ValueError("baseline must be a rate strictly between 0 and 1")
    target = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < target < 1 or target == baseline:
        raise ValueError(f"baseline {baseline} with effect {mde} gives target rate {target}")
    h = float(proportion_effectsize(target, baseline))
    if alternative == "smaller":
        h = -abs(h)
    elif alternative == "larger":
        h = abs(h)
    n1 = float(
        NormalIndPower().solve_power(
            effect_size=h,
            nobs1=None,
            alpha=alpha,
            power=power,
            ratio=ratio,
            alternative=alternative,
        )
    )
    per_control = math.ceil(n1)
    per_variant = math.ceil(n1 * ratio)
    return SampleSize(per_control, per_variant, per_control + per_variant, h, n1, baseline, target)


def conversions_from_stages(
    assignments: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    stage: str,
    as_of: pd.Timestamp | str,
    window_days: float | None = None,
) -> pd.DataFrame:
    """Add a ``converted`` column: the contact reached ``stage`` after assignment.

    With ``assigned_at``, a conversion before the assignment does not count (the
    content cannot have caused it) and ``window_days`` limits how long after.
    """
    as_of_ts = P.utc(as_of)
    assignments = ensure(assignments, ASSIGNMENTS, source="assignments")
    stages = ensure(stages, STAGES)
    s = stages[(stages["stage"] == stage) & (stages["timestamp"] <= as_of_ts)]
    first = s.groupby("contact_id")["timestamp"].min()
    out = assignments.copy()
    # reindex keeps the timestamps' dtype even when no contact converted (Series.map
    # over an empty datetime Series tried a float cast: a TypeError, a 500 in the API).
    # (an empty stages frame also comes without a zone: utc=True makes both comparable)
    at = pd.to_datetime(
        pd.Series(first.reindex(out["contact_id"].to_numpy()).to_numpy(), index=out.index),
        utc=True,
    )
    conv = at.notna()
    if "assigned_at" in out.columns:
        conv &= at >= out["assigned_at"]
        if window_days is not None:
            conv &= at <= out["assigned_at"] + pd.Timedelta(days=window_days)
    out["converted"] = conv.to_numpy(dtype=bool)
    return out


def ab_test(
    assignments: pd.DataFrame,
    *,
    control: str,
    experiment: str | None = None,
    alpha: float = 0.05,
    mde: float = 0.02,
    relative: bool = False,
    power: float = 0.8,
    ci_method: str = "newcomb",
) -> pd.DataFrame:
    """Compare every variant of one experiment with its control.

    Args:
        assignments: ``contact_id, experiment, variant, converted``.
        control: the control variant's name.
        experiment: which experiment; may be omitted when the table holds one.
        alpha: significance level (family-wise, Holm-corrected across variants).
        mde: minimum detectable effect used for the sample-size check.
        ci_method: method of ``confint_proportions_2indep`` for the difference.

    Returns:
        One row per variant (control first): ``variant, contacts, conversions, rate,
        diff, ci_low, ci_high, z, p_value, p_adjusted, required_per_arm, verdict,
        warnings``.
    """
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    assignments = ensure(assignments, ASSIGNMENTS, require=["converted"], source="assignments")
    experiments = sorted(assignments["experiment"].astype(str).unique())
    if experiment is None:
        if len(experiments) != 1:
            raise AnalyticsInputError(
                "assignments", f"several experiments ({', '.join(experiments)}); name one"
            )
        experiment = experiments[0]
    a = assignments[assignments["experiment"].astype(str) == experiment]
    if a.empty:
        raise AnalyticsInputError("assignments", f"no experiment named {experiment!r}")
    dup = a["contact_id"].duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise AnalyticsInputError(
            "assignments",
            f"contact {a['contact_id'].iloc[pos]!r} is assigned twice in {experiment!r}",
            row=int(a.index[pos]) + 1,
            column="contact_id",
        )
    g = a.groupby(a["variant"].astype(str))["converted"].agg(["size", "sum"])
    if control not in g.index:
        raise AnalyticsInputError(
            "assignments", f"control {control!r} not among variants {', '.join(g.index)}"
        )
    n_c, x_c = int(g.loc[control, "size"]), int(g.loc[control, "sum"])
    p_c = x_c / n_c
    required: int | None
    try:
        required = sample_size(p_c, mde, relative=relative, alpha=alpha, power=power).per_control
    except ValueError:
        # A control at 0 % or 100 % gives no baseline to plan from.
        required = None
    rows = []
    for variant in [control, *[v for v in g.index if v != control]]:
        n, x = int(g.loc[variant, "size"]), int(g.loc[variant, "sum"])
        warnings = []
        if x == 0:
            warnings.append("no conversions")
        if min(x, n - x) < 5:
            warnings.append(
                "fewer than 5 conversions or non-conversions: normal approximation weak"
            )
        if required is None:
            warnings.append("control rate is 0 or 1: cannot plan a sample size")
        elif n < required:
            warnings.append(f"sample too small: {n} < {required} needed")
        row: dict[str, object] = {
            "experiment": experiment,
            "variant": variant,
            "contacts": n,
            "conversions": x,
            "rate": x / n,
            "warnings": "; ".join(warnings),
        }
        if variant == control:
            row.update(diff=0.0, ci_low=np.nan, ci_high=np.nan, z=np.nan, p_value=np.nan)
        else:
            if x + x_c == 0 or x + x_c == n + n_c:
                # Pooled variance is 0: the z statistic is undefined, and there is no
                # evidence of any difference.
                z, p = np.nan, 1.0
            else:
                z, p = proportions_ztest(np.array([x, x_c]), np.array([n, n_c]))
            low, high = confint_proportions_2indep(
                x, n, x_c, n_c, method=ci_method, compare="diff", alpha=alpha
            )
            row.update(
                diff=x / n - p_c,
                ci_low=float(low),
                ci_high=float(high),
                z=float(z),
                p_value=float(p),
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["required_per_arm"] = required if required is not None else np.nan
    pvals = out.loc[out["variant"] != control, "p_value"].to_numpy(dtype=float)
    adjusted = np.full(len(out), np.nan)
    if len(pvals):
        adjusted[1:] = multipletests(pvals, alpha=alpha, method="holm")[1]
    out["p_adjusted"] = adjusted
    enough = required is not None and bool((out["contacts"] >= required).all())
    verdicts = []
    for _, r in out.iterrows():
        if r["variant"] == control:
            verdicts.append("control")
        elif not enough:
            verdicts.append("keep running")
        elif r["p_adjusted"] < alpha:
            verdicts.append("winner" if r["diff"] > 0 else "loser")
        else:
            verdicts.append("no difference detected")
    out["verdict"] = verdicts
    cols = ["experiment", "variant", "contacts", "conversions", "rate", "diff", "ci_low"]
    cols += ["ci_high", "z", "p_value", "p_adjusted", "required_per_arm", "verdict", "warnings"]
    return out[cols]
