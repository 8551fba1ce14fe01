"""`leadscore report ...`: funnel analytics in the terminal and as an offline HTML page.

The commands read files, call the pure functions of :mod:`leadscore.analytics` with
an explicit ``--as-of`` (default: now) and print Rich tables. ``--html FILE`` writes
the same figures with charts to one self-contained page; ``report html`` puts every
section whose inputs were given into one page. pandas, DuckDB and statsmodels are
imported inside the commands so ``leadscore --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from leadscore.cli.console import err, fail, out
from leadscore.cli.options import with_options

if TYPE_CHECKING:
    import pandas as pd

    from leadscore.analytics.inputs import Schema
    from leadscore.analytics.render import Section


app = typer.Typer(
    help="Funnel, lead velocity, RFM, attribution, A/B tests and goals, from CSV/Parquet files.",
    no_args_is_help=True,
)

StagesOpt = Annotated[
    Path | None,
    typer.Option(
        "--stages", "-s", help="Stage transitions: contact_id, stage, timestamp[, value]."
    ),
]
ContactsOpt = Annotated[
    Path | None,
    typer.Option(
        "--contacts", "-c", help="Contacts: contact_id, created_at and fields (source...)."
    ),
]
EventsOpt = Annotated[
    Path | None,
    typer.Option("--events", "-e", help="Events: event_id, contact_id, type, timestamp[, url...]."),
]
MilestoneOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--milestone",
        help="STAGE=FILE:DATE_COLUMN: take a stage's dates from a wide export (repeatable), "
        "e.g. customer=closed_deals.csv:won_date.",
    ),
]
IdOpt = Annotated[
    str,
    typer.Option("--id-column", help="Name of the contact id column in contacts/milestone files."),
]
CreatedOpt = Annotated[
    str, typer.Option("--created-column", help="Name of the creation-time column in contacts.")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Report as of this instant (ISO 8601; naive = UTC). Default: now."
    ),
]
PeriodOpt = Annotated[
    str, typer.Option("--period", "-p", help="day, week, month, quarter, year or N-day (14d).")
]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Also write the main table as CSV.")]


@dataclass(frozen=True)
class InputFiles:
    """The input files of the report commands and the names of their id and date columns.

    Each command offers the options it reads (``with_options(InputFiles, ...)``);
    the others keep these defaults.
    """

    stages: StagesOpt = None
    contacts: ContactsOpt = None
    events: EventsOpt = None
    milestone: MilestoneOpt = None
    id_column: IdOpt = "contact_id"
    created_column: CreatedOpt = "created_at"


# The options of the commands built on stage history, in their --help order.
STAGE_INPUTS = ("stages", "contacts", "milestone", "id_column", "created_column")


def _as_of(text: str | None) -> Any:
    import pandas as pd

    if text is None:
        # The CLI is the one place allowed to ask the clock; the core never does.
        return pd.Timestamp(datetime.now(UTC))
    try:
        ts = pd.Timestamp(text)
    except ValueError as exc:
        raise fail(f"--as-of: cannot parse {text!r} as a timestamp ({exc})") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclass
class Inputs:
    stages: pd.DataFrame | None = None
    contacts: pd.DataFrame | None = None
    events: Any = None  # a DataFrame, or a Parquet-backed pyarrow dataset


def _load(
    files: InputFiles,
    *,
    contact_fields: list[str] | None = None,
    event_columns: list[str] | None = None,
    need_stages: bool = True,
) -> Inputs:
    """Read and validate the files; every input problem becomes one clear error line."""
    import pandas as pd

    from leadscore.analytics import inputs as I

    stages, contacts, events = files.stages, files.contacts, files.events
    id_column, created_column = files.id_column, files.created_column
    result = Inputs()
    try:
        parts = []
        if stages is not None:
            parts.append(I.read_table(stages, I.STAGES, rename={id_column: "contact_id"}))
        for spec in files.milestone or []:
            stage, sep, rest = spec.partition("=")
            path_text, sep2, column = rest.rpartition(":")
            if not sep or not sep2 or not stage or not column:
                raise fail(f"--milestone {spec!r}: expected STAGE=FILE:DATE_COLUMN")
            parts.append(
                I.read_milestone(Path(path_text), stage.strip().lower(), column, id_column)
            )
        if parts:
            result.stages = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        elif need_stages:
            raise fail("give --stages FILE or at least one --milestone STAGE=FILE:COLUMN")
        if contacts is not None:
            result.contacts = I.read_table(
                contacts,
                I.CONTACTS,
                require=contact_fields or [],
                rename={id_column: "contact_id", created_column: "created_at"},
            )
        if events is not None:
            # Parquet events stay on disk as a dataset DuckDB scans; CSV becomes a frame.
            result.events = I.read_events(
                events, columns=event_columns or [], rename={id_column: "contact_id"}
            )
    except I.AnalyticsInputError as exc:
        raise fail(str(exc)) from None
    frames = [f for f in (result.stages, result.contacts, result.events) if f is not None]
    frames = [f for f in frames if isinstance(f, pd.DataFrame)]
    if result.events is not None and not isinstance(result.events, pd.DataFrame):
        from leadscore.analytics._duck import numeric_ids

        if numeric_ids(result.events):
            # Text ids from a CSV next to numeric ids in Parquet: use numbers if they are.
            for f in frames:
                if not pd.api.types.is_numeric_dtype(f["contact_id"].dtype):
                    as_num = pd.to_numeric(f["contact_id"], errors="coerce")
                    if as_num.notna().all():
                        f["contact_id"] = as_num.astype("int64")
    I.harmonise_ids(*frames)
    return result


def _read(path: Path, schema: Schema, require: Sequence[str] = ()) -> pd.DataFrame:
    """One more input table (assignments, spend, scores), its problems an error line."""
    from leadscore.analytics import inputs as I

    try:
        return I.read_table(path, schema, require=require)
    except I.AnalyticsInputError as exc:
        raise fail(str(exc)) from None


def _print(frame: pd.DataFrame, title: str, columns: list[str] | None = None) -> None:
    from leadscore.analytics.render import formatted, headers

    cols = columns or list(frame.columns)
    table = Table(title=title, title_justify="left", header_style="bold")
    for i, h in enumerate(headers(cols)):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in formatted(frame, cols):
        table.add_row(*row)
    out.print(table)


def _write(sections: list[Section], html: Path | None, as_of: Any, title: str) -> None:
    if html is None:
        return
    from leadscore.analytics.render import render_html

    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(sections, as_of=as_of, title=title), encoding="utf-8")
    err.print(f"wrote {html}")


def _csv(frame: pd.DataFrame, path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        err.print(f"wrote {path}")


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an analytics function; a bad parameter or input is an error line, not a trace."""
    from leadscore.analytics.inputs import AnalyticsInputError

    try:
        return fn(*args, **kwargs)
    except (AnalyticsInputError, ValueError) as exc:
        raise fail(str(exc)) from None


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def _funnel_parts(
    data: Inputs,
    as_of: Any,
    period: str,
    by: str | None,
    funnel: str | None,
    within_days: float | None,
    fresh_days: float,
) -> tuple[Any, Any]:
    from leadscore.analytics import fresh_vs_nurtured, funnel_report

    report = _guard(
        funnel_report,
        data.stages,
        data.contacts,
        as_of=as_of,
        period=period,
        by=_split(by),
        funnel=_split(funnel),
        within_days=within_days,
    )
    fresh = None
    stages = report.funnel
    if "lead" in stages and "mql" in stages and stages[-1] != "mql":
        fresh = _guard(
            fresh_vs_nurtured,
            data.stages,
            data.contacts,
            as_of=as_of,
            fresh_days=fresh_days,
            converted_stage=stages[-1],
        )
    return report, fresh


@app.command()
@with_options(InputFiles, *STAGE_INPUTS)
def funnel(
    files: InputFiles,
    as_of: AsOfOpt = None,
    period: PeriodOpt = "month",
    by: Annotated[
        str | None, typer.Option("--by", help="Contact field(s), comma-separated.")
    ] = None,
    funnel_stages: Annotated[
        str | None, typer.Option("--funnel", help="Stages to show, e.g. mql,customer.")
    ] = None,
    within_days: Annotated[
        float | None, typer.Option("--within-days", help="Count conversions within N days.")
    ] = None,
    fresh_days: Annotated[float, typer.Option("--fresh-days")] = 30.0,
    cohorts: Annotated[
        bool, typer.Option("--cohorts", help="Also show cohorts by creation period.")
    ] = False,
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """Stage counts, stage-to-stage conversion and its series by period (SPEC M1, M4)."""
    from leadscore.analytics.render import funnel_section, main_pair

    ts = _as_of(as_of)
    data = _load(files, contact_fields=_split(by))
    report, fresh = _funnel_parts(data, ts, period, by, funnel_stages, within_days, fresh_days)
    _print(report.stages, f"Funnel as of {ts:%Y-%m-%d %H:%M} UTC")
    _print(report.conversions, "Stage-to-stage conversion")
    pair = main_pair(report)
    if pair is not None:
        t = report.by_period
        series = t[(t["from_stage"] == pair[0]) & (t["to_stage"] == pair[1])]
        cols = [*report.by, "period", "entered", "converted", "rate", "median_days"]
        _print(series, f"{pair[0]} -> {pair[1]} by {report.period} of {pair[0]}", cols)
    if fresh is not None:
        _print(fresh, f"Fresh (< {fresh_days:g} days) versus nurtured leads")
    if cohorts and len(report.cohorts):
        cols = [c for c in report.cohorts.columns if c != "period_start"]
        _print(report.cohorts, f"Cohorts by {report.period} of creation", cols)
    _csv(report.by_period, csv)
    _write([funnel_section(report, fresh)], html, ts, "leadscore funnel")


@app.command()
@with_options(InputFiles, *STAGE_INPUTS)
def velocity(
    files: InputFiles,
    as_of: AsOfOpt = None,
    period: PeriodOpt = "month",
    stage: Annotated[str, typer.Option("--stage", help="The qualified stage counted.")] = "mql",
    start: Annotated[str | None, typer.Option("--start", help="First period (date).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last period (date).")] = None,
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """Qualified leads per period and lead velocity rate (SPEC M2)."""
    from leadscore.analytics import lead_velocity
    from leadscore.analytics.render import velocity_section

    ts = _as_of(as_of)
    data = _load(files)
    table = _guard(
        lead_velocity,
        data.stages,
        data.contacts,
        as_of=ts,
        stage=stage,
        period=period,
        start=start,
        end=end,
    )
    cols = ["period", "complete", "qualified", "previous", "change", "lvr_pct"]
    _print(table, f"Lead velocity rate of {stage.upper()}s by {period}", cols)
    _csv(table, csv)
    _write([velocity_section(table, stage, period)], html, ts, "leadscore velocity")


def _rfm_parts(
    data: Inputs,
    as_of: Any,
    quantiles: int,
    window_days: float | None,
    monetary_column: str | None,
    won_stage: str,
) -> tuple[Any, Any]:
    import pandas as pd

    from leadscore.analytics import rfm, segment_summary

    assert data.events is not None
    monetary = None
    if monetary_column:
        from leadscore.analytics._duck import connect, register_events

        con = connect()
        try:
            # Only the rows with an amount leave DuckDB.
            register_events(con, data.events, ["contact_id", "timestamp", monetary_column])
            monetary = con.execute(
                f'SELECT contact_id, "{monetary_column}" AS value, timestamp FROM ev '
                f'WHERE "{monetary_column}" IS NOT NULL'
            ).df()
        finally:
            con.close()
        monetary["timestamp"] = pd.to_datetime(monetary["timestamp"]).dt.tz_localize("UTC")
    elif data.stages is not None and "value" in data.stages.columns:
        s = data.stages
        s = s[(s["stage"] == won_stage) & s["value"].notna()]
        monetary = s[["contact_id", "value", "timestamp"]]
    table = _guard(
        rfm,
        data.events,
        as_of=as_of,
        monetary=monetary,
        contacts=data.contacts,
        window_days=window_days,
        quantiles=quantiles,
    )
    return table, segment_summary(table)


@app.command("rfm")
@with_options(InputFiles, "events", "stages", "contacts", "id_column")
def rfm_command(
    files: InputFiles,
    as_of: AsOfOpt = None,
    quantiles: Annotated[
        int, typer.Option("--quantiles", help="Score levels (5 = quintiles).")
    ] = 5,
    window_days: Annotated[float | None, typer.Option("--window-days")] = None,
    monetary_column: Annotated[
        str | None, typer.Option("--monetary-column", help="Event column with order amounts.")
    ] = None,
    won_stage: Annotated[str, typer.Option("--won-stage")] = "customer",
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """RFM scores and the 8 segments (SPEC T2); monetary from won deal values or amounts."""
    from leadscore.analytics.render import rfm_section

    if files.events is None:
        raise fail("give --events FILE")
    ts = _as_of(as_of)
    data = _load(
        files, event_columns=[monetary_column] if monetary_column else [], need_stages=False
    )
    table, summary = _rfm_parts(data, ts, quantiles, window_days, monetary_column, won_stage)
    _print(summary, f"RFM segments as of {ts:%Y-%m-%d %H:%M} UTC ({len(table):,} contacts)")
    _csv(table, csv)
    _write([rfm_section(summary, quantiles)], html, ts, "leadscore RFM")


def _weights(items: list[str] | None, option: str) -> dict[str, float]:
    out = {}
    for item in items or []:
        key, sep, value = item.rpartition("=")
        try:
            out[key] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key:
            raise fail(f"{option} {item!r}: expected NAME=NUMBER")
    return out


@app.command()
@with_options(InputFiles, "events", "contacts", "id_column", "created_column")
def tags(
    files: InputFiles,
    as_of: AsOfOpt = None,
    half_life_days: Annotated[float, typer.Option("--half-life-days")] = 30.0,
    action_weight: Annotated[
        list[str] | None,
        typer.Option("--action-weight", help="TYPE=WEIGHT, e.g. form_submit=5 (repeatable)."),
    ] = None,
    place_field: Annotated[str, typer.Option("--place-field")] = "url",
    place_weight: Annotated[
        list[str] | None,
        typer.Option("--place-weight", help="GLOB=WEIGHT, e.g. '/pricing*=2' (first match wins)."),
    ] = None,
    who: Annotated[
        str | None, typer.Option("--who", help="Contact fields that become who: tags.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Tags shown.")] = 30,
    csv: CsvOpt = None,
) -> None:
    """Factual tags (who/when/where/what) with decay x place x action weights (SPEC T1)."""
    from leadscore.analytics import factual_tags

    if files.events is None:
        raise fail("give --events FILE")
    ts = _as_of(as_of)
    data = _load(
        files, contact_fields=_split(who), event_columns=[place_field] if place_field else [],
        need_stages=False,
    )  # fmt: skip
    table = _guard(
        factual_tags, data.events, data.contacts, as_of=ts, half_life_days=half_life_days,
        action_weights=_weights(action_weight, "--action-weight"), place_field=place_field or None,
        place_weights=_weights(place_weight, "--place-weight"), who_fields=_split(who) or [],
    )  # fmt: skip
    summary = (
        table.groupby(["dimension", "tag"])
        .agg(contacts=("contact_id", "nunique"), weight=("weight", "sum"), events=("events", "sum"))
        .reset_index()
        .sort_values("weight", ascending=False)
        .head(top)
    )
    _print(summary, f"Top {top} tags as of {ts:%Y-%m-%d %H:%M} UTC")
    _csv(table, csv)


@app.command("attribution")
@with_options(InputFiles, "events", "stages", "milestone", "id_column")
def attribution_command(
    files: InputFiles,
    as_of: AsOfOpt = None,
    touch: Annotated[str, typer.Option("--touch", help="Event column credited.")] = "campaign",
    stage: Annotated[str, typer.Option("--stage", help="Conversion stage.")] = "customer",
    event_types: Annotated[
        str | None, typer.Option("--event-types", help="Only these event types, comma-separated.")
    ] = None,
    lookback_days: Annotated[float | None, typer.Option("--lookback-days")] = None,
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """First-touch, last-touch and linear credit of conversions (SPEC M7)."""
    from leadscore.analytics import attribution
    from leadscore.analytics.render import attribution_section

    if files.events is None:
        raise fail("give --events FILE")
    ts = _as_of(as_of)
    data = _load(files, event_columns=[touch])
    table = _guard(
        attribution,
        data.events,
        data.stages,
        as_of=ts,
        touch=touch,
        conversion_stage=stage,
        event_types=_split(event_types),
        lookback_days=lookback_days,
    )
    _print(table, f"Attribution of {stage} conversions by {touch}")
    _csv(table, csv)
    _write([attribution_section(table, touch, stage)], html, ts, "leadscore attribution")


@app.command()
def abtest(
    assignments: Annotated[
        Path | None,
        typer.Option("--assignments", "-a", help="contact_id, experiment, variant[, converted]."),
    ] = None,
    control: Annotated[str | None, typer.Option("--control", help="Control variant.")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment")] = None,
    stages: StagesOpt = None,
    stage: Annotated[
        str, typer.Option("--stage", help="Conversion stage when there is no converted column.")
    ] = "mql",
    window_days: Annotated[float | None, typer.Option("--window-days")] = None,
    as_of: AsOfOpt = None,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    mde: Annotated[
        float, typer.Option("--mde", help="Minimum detectable effect (absolute, 0.02 = 2 pts).")
    ] = 0.02,
    relative: Annotated[bool, typer.Option("--relative", help="--mde is relative.")] = False,
    baseline: Annotated[
        float | None, typer.Option("--baseline", help="Only compute the sample size.")
    ] = None,
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """Two-proportion test of variants against a control; or a sample-size calculator."""
    import pandas as pd

    from leadscore.analytics import ab_test, conversions_from_stages, sample_size
    from leadscore.analytics import inputs as I
    from leadscore.analytics.render import abtest_section

    if baseline is not None:
        size = _guard(sample_size, baseline, mde, relative=relative, alpha=alpha, power=power)
        frame = pd.DataFrame([size.__dict__])
        _print(frame, "Sample size per arm (two-proportion test)")
        return
    if assignments is None or control is None:
        raise fail("give --assignments FILE and --control VARIANT (or --baseline for sizing)")
    ts = _as_of(as_of)
    a = _read(assignments, I.ASSIGNMENTS)
    if "converted" not in a.columns:
        data = _load(InputFiles(stages=stages))
        I.harmonise_ids(a, data.stages)
        a = _guard(
            conversions_from_stages, a, data.stages, stage=stage, as_of=ts, window_days=window_days
        )
    table = _guard(
        ab_test,
        a,
        control=control,
        experiment=experiment,
        alpha=alpha,
        mde=mde,
        relative=relative,
        power=power,
    )
    _print(table.drop(columns=["warnings"]), f"A/B test {table['experiment'].iloc[0]}")
    for _, row in table.iterrows():
        if row["warnings"]:
            warning = Text.assemble(("warning", "yellow"), f" {row['variant']}: {row['warnings']}")
            err.print(warning, highlight=False)
    _csv(table, csv)
    _write([abtest_section(table)], html, ts, "leadscore A/B test")


def _goal_parts(
    data: Inputs,
    as_of: Any,
    revenue: float | None,
    deal_size: float | None,
    months: float,
    scores: Path | None,
    capacity: int | None,
    sla_hours: float,
    follow_up_types: str,
    period: str,
) -> tuple[Any, Any, Any, str]:
    from leadscore.analytics import (
        average_deal_size,
        funnel_report,
        goal_plan,
        measured_rates,
        sla_follow_up,
        threshold_for_capacity,
    )
    from leadscore.analytics import inputs as I

    plan = None
    note = ""
    if revenue is not None:
        report = _guard(funnel_report, data.stages, data.contacts, as_of=as_of, period=period)
        rates = measured_rates(report)
        if deal_size is None:
            deal_size = _guard(average_deal_size, data.stages, as_of=as_of)
            note = f"Average deal size measured from won deals: {deal_size:,.2f}."
        plan = _guard(
            goal_plan,
            revenue,
            avg_deal_size=deal_size,
            rates=rates,
            months=months,
            funnel=report.funnel,
        )
    cap = None
    if capacity is not None:
        if scores is None:
            raise fail("--capacity needs --scores FILE (contact_id, score[, scored_at])")
        sc = _read(scores, I.SCORES)
        cap = _guard(threshold_for_capacity, sc, capacity_per_period=capacity, period=period)
    sla = _guard(
        sla_follow_up,
        data.stages,
        as_of=as_of,
        sla_hours=sla_hours,
        events=data.events,
        follow_up_types=_split(follow_up_types) or [],
        period=period,
    )
    return plan, cap, sla, note


@app.command()
@with_options(InputFiles)
def goals(
    files: InputFiles,
    as_of: AsOfOpt = None,
    period: PeriodOpt = "month",
    revenue: Annotated[float | None, typer.Option("--revenue", help="Revenue target.")] = None,
    deal_size: Annotated[
        float | None, typer.Option("--deal-size", help="Average deal (default: measured).")
    ] = None,
    months: Annotated[float, typer.Option("--months", help="Horizon of the target.")] = 1.0,
    scores: Annotated[
        Path | None, typer.Option("--scores", help="contact_id, score[, scored_at].")
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", help="MQLs sales agreed to follow up per period.")
    ] = None,
    sla_hours: Annotated[float, typer.Option("--sla-hours")] = 24.0,
    follow_up_types: Annotated[
        str, typer.Option("--follow-up-types", help="Event types that are a sales follow-up.")
    ] = "call,meeting,sales_email",
    html: HtmlOpt = None,
) -> None:
    """Leads and MQLs needed for a revenue target; SLA threshold and follow-up (SPEC M6)."""
    from leadscore.analytics.render import goals_section

    ts = _as_of(as_of)
    data = _load(files)
    plan, cap, sla, note = _goal_parts(
        data, ts, revenue, deal_size, months, scores, capacity, sla_hours, follow_up_types, period
    )
    if note:
        err.print(note)
    if plan is not None:
        _print(plan, f"Needed for {revenue:,.0f} over {months:g} month(s)")
    if cap is not None:
        import pandas as pd

        _print(pd.DataFrame([cap]), "Score threshold for the agreed capacity")
    _print(sla, f"MQLs followed up within {sla_hours:g} h")
    _write([goals_section(plan, cap, sla, note)], html, ts, "leadscore goals")


@app.command()
@with_options(InputFiles, "stages", "milestone", "id_column", "created_column")
def cpa(
    spend: Annotated[Path, typer.Option("--spend", help="Spend: channel, period, amount.")],
    # Required here, with its own help: the channel field is what cpa is about.
    contacts: Annotated[
        Path, typer.Option("--contacts", "-c", help="Contacts with the channel field.")
    ],
    files: InputFiles,
    as_of: AsOfOpt = None,
    period: PeriodOpt = "month",
    stage: Annotated[str, typer.Option("--stage", help="The acquisition stage.")] = "customer",
    spend_key: Annotated[str, typer.Option("--spend-key")] = "channel",
    contact_key: Annotated[str, typer.Option("--contact-key")] = "source",
    html: HtmlOpt = None,
    csv: CsvOpt = None,
) -> None:
    """Cost per lead and per acquisition by channel and period (SPEC M3)."""
    from leadscore.analytics import cost_per_acquisition, cpa_summary
    from leadscore.analytics import inputs as I
    from leadscore.analytics.render import cpa_section

    ts = _as_of(as_of)
    data = _load(replace(files, contacts=contacts), contact_fields=[contact_key])
    sp = _read(spend, I.SPEND, require=[spend_key])
    table = _guard(
        cost_per_acquisition,
        sp,
        data.stages,
        data.contacts,
        as_of=ts,
        stage=stage,
        period=period,
        spend_key=spend_key,
        contact_key=contact_key,
    )
    summary = cpa_summary(table)
    _print(summary, "Cost per acquisition, whole range")
    _csv(table, csv)
    _write([cpa_section(table, summary)], html, ts, "leadscore CPA")


@app.command("html")
@with_options(InputFiles)
def html_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    files: InputFiles,
    as_of: AsOfOpt = None,
    period: PeriodOpt = "month",
    touch: Annotated[str, typer.Option("--touch")] = "campaign",
    assignments: Annotated[Path | None, typer.Option("--assignments", "-a")] = None,
    control: Annotated[str | None, typer.Option("--control")] = None,
    revenue: Annotated[float | None, typer.Option("--revenue")] = None,
    deal_size: Annotated[float | None, typer.Option("--deal-size")] = None,
    months: Annotated[float, typer.Option("--months")] = 1.0,
    spend: Annotated[
        Path | None, typer.Option("--spend", help="Spend file: adds cost per acquisition.")
    ] = None,
    title: Annotated[str, typer.Option("--title")] = "leadscore analytics",
) -> None:
    """One offline HTML page with every section the given files allow."""
    from leadscore.analytics import ab_test, attribution, lead_velocity
    from leadscore.analytics import inputs as I
    from leadscore.analytics import render as R

    ts = _as_of(as_of)
    data = _load(
        files,
        event_columns=[touch] if files.events is not None else [],
        contact_fields=["source"] if spend is not None else None,
    )
    sections = []
    report, fresh = _funnel_parts(data, ts, period, None, None, None, 30.0)
    sections.append(R.funnel_section(report, fresh))
    stage = "mql" if "mql" in report.funnel else report.funnel[0]
    vel = _guard(lead_velocity, data.stages, data.contacts, as_of=ts, stage=stage, period=period)
    sections.append(R.velocity_section(vel, stage, period))
    if data.events is not None:
        _table, summary = _rfm_parts(data, ts, 5, None, None, "customer")
        sections.append(R.rfm_section(summary, 5))
        conv = report.funnel[-1]
        att = _guard(
            attribution, data.events, data.stages, as_of=ts, touch=touch, conversion_stage=conv
        )
        sections.append(R.attribution_section(att, touch, conv))
    if assignments is not None and control is not None:
        a = _read(assignments, I.ASSIGNMENTS, require=["converted"])
        sections.append(R.abtest_section(_guard(ab_test, a, control=control)))
    if spend is not None:
        from leadscore.analytics import cost_per_acquisition, cpa_summary

        if data.contacts is None:
            raise fail("--spend needs --contacts with a 'source' column")
        sp = _read(spend, I.SPEND, require=["channel"])
        table = _guard(
            cost_per_acquisition, sp, data.stages, data.contacts, as_of=ts, period=period,
            stage=report.funnel[-1],
        )  # fmt: skip
        sections.append(R.cpa_section(table, cpa_summary(table)))
    plan, cap, sla, note = _goal_parts(
        data, ts, revenue, deal_size, months, None, None, 24.0, "call,meeting,sales_email", period
    )
    sections.append(R.goals_section(plan, cap, sla, note))
    _write(sections, output, ts, title)


def register(root: typer.Typer) -> None:
    """Attach ``leadscore report ...`` to the main app."""
    root.add_typer(app, name="report")
