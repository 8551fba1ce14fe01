"""CRM exports read through a preset or a mapping score as the canonical files do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from filedata import ENGINES, EXAMPLES, Table, expected, score, write_csv

from leadscore.files.mapping import MappingError, build_mapping, load_preset
from leadscore.files.reader import ReadOptions, Source

# Contacts as HubSpot's export labels them; events as its Events API names them.
HUBSPOT_CONTACTS = {
    "contact_id": "Record ID",
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email",
    "phone": "Phone Number",
    "job_title": "Job Title",
    "company": "Company Name",
    "industry": "Industry",
    "employees": "Number of Employees",
    "country": "Country/Region",
    "created_at": "Create Date",
}
HUBSPOT_EVENTS = {
    "event_id": "id",
    "contact_id": "objectId",
    "type": "eventType",
    "timestamp": "occurredAt",
    "url": "hs_url",
    "form": "hs_form_id",
}
HUBSPOT_TYPES = {"page_view": "e_visited_page", "form_submit": "e_submitted_form"}
# Salesforce Leads as Data Loader writes them; activities as Task records.
SALESFORCE_CONTACTS = {
    "contact_id": "Id",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "phone": "Phone",
    "job_title": "Title",
    "company": "Company",
    "industry": "Industry",
    "employees": "NumberOfEmployees",
    "country": "Country",
    "created_at": "CreatedDate",
}
SALESFORCE_EVENTS = {
    "event_id": "Id",
    "contact_id": "WhoId",
    "type": "TaskSubtype",
    "timestamp": "CreatedDate",
}


def _vendor_types(types: dict[str, str]) -> object:
    return lambda column, value: types.get(value, value) if column == "type" else value


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hubspot_export_scores_as_the_canonical_files(
    engine: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    contacts = write_csv(
        tmp_path / "hubspot-contacts.csv", example["contacts"], rename=HUBSPOT_CONTACTS
    )
    events = write_csv(
        tmp_path / "hubspot-events.csv",
        example["events"],
        rename=HUBSPOT_EVENTS,
        values=_vendor_types(HUBSPOT_TYPES),  # type: ignore[arg-type]
    )
    assert "e_visited_page" in events.read_text()
    code, output, got = score(
        EXAMPLES / "model.yaml",
        contacts,
        events,
        tmp_path / "s.csv",
        "--engine",
        engine,
        "--preset",
        "hubspot",
    )
    assert code == 0, output
    assert got == expected(canonical, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_salesforce_export_scores_as_the_canonical_files(
    engine: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    contacts = write_csv(tmp_path / "Lead.csv", example["contacts"], rename=SALESFORCE_CONTACTS)
    events = write_csv(tmp_path / "Task.csv", example["events"], rename=SALESFORCE_EVENTS)
    code, output, got = score(
        EXAMPLES / "model.yaml",
        contacts,
        events,
        tmp_path / "s.csv",
        "--engine",
        engine,
        "--preset",
        "salesforce",
    )
    assert code == 0, output
    assert got == expected(canonical, engine)


@pytest.mark.postgres
def test_a_hubspot_export_scores_the_same_on_postgres(
    example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path, pg_url: str
) -> None:
    contacts = write_csv(tmp_path / "c.csv", example["contacts"], rename=HUBSPOT_CONTACTS)
    events = write_csv(tmp_path / "e.csv", example["events"], rename=HUBSPOT_EVENTS)
    pg = ("--engine", "postgres", "--db", pg_url)
    code, output, want = score(
        EXAMPLES / "model.yaml", canonical["contacts"], canonical["events"], tmp_path / "w.csv", *pg
    )
    assert code == 0, output
    code, output, got = score(
        EXAMPLES / "model.yaml", contacts, events, tmp_path / "s.csv", *pg, "--preset", "hubspot"
    )
    assert code == 0, output
    assert got == want


@pytest.mark.parametrize("engine", ENGINES)
def test_an_export_without_its_preset_fails_naming_the_field(
    engine: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    """The silent-0 case: a HubSpot export scored as it is used to give 0 fit points."""
    labels = {k: v for k, v in HUBSPOT_CONTACTS.items() if k != "contact_id"}
    contacts = write_csv(tmp_path / "contacts.csv", example["contacts"], rename=labels)
    out = tmp_path / "s.csv"
    code, output, got = score(
        EXAMPLES / "model.yaml", contacts, canonical["events"], out, "--engine", engine
    )
    assert code == 1 and got is None and not out.exists()
    assert (
        "model reads 'job_title' (rules senior-title, student); contacts.csv has 'Job Title' "
        "(did you mean it? use --preset hubspot or a mapping)"
    ) in output
    assert "model reads 'first_name'" in output and "'First Name'" in output


def test_a_missing_id_column_names_the_preset_that_has_it(
    example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    contacts = write_csv(tmp_path / "c.csv", example["contacts"], rename=HUBSPOT_CONTACTS)
    code, output, _ = score(
        EXAMPLES / "model.yaml", contacts, canonical["events"], tmp_path / "s.csv"
    )
    assert code == 1
    assert "missing required column(s) contact_id" in output
    assert "'Record ID' is contact_id with --preset hubspot" in output


def test_a_field_with_no_close_column_says_how_to_fix_it(
    example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    header, rows = example["contacts"]
    drop = header.index("industry")
    table = (
        [h for i, h in enumerate(header) if i != drop],
        [[v for i, v in enumerate(r) if i != drop] for r in rows],
    )
    contacts = write_csv(tmp_path / "c.csv", table)
    code, output, _ = score(
        EXAMPLES / "model.yaml", contacts, canonical["events"], tmp_path / "s.csv"
    )
    assert code == 1
    assert "model reads 'industry' (rule target-industry); c.csv has no such column" in output
    assert "optional_fields" in output


@pytest.mark.parametrize("engine", ENGINES)
def test_optional_fields_may_be_absent(
    engine: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    header, rows = example["contacts"]
    drop = header.index("industry")
    absent = (
        [h for i, h in enumerate(header) if i != drop],
        [[v for i, v in enumerate(r) if i != drop] for r in rows],
    )
    empty = (header, [[("" if i == drop else v) for i, v in enumerate(r)] for r in rows])
    model = tmp_path / "model.yaml"
    model.write_text((EXAMPLES / "model.yaml").read_text() + "\noptional_fields: [industry]\n")
    code, output, without = score(
        model,
        write_csv(tmp_path / "a.csv", absent),
        canonical["events"],
        tmp_path / "a-out.csv",
        "--engine",
        engine,
    )
    assert code == 0, output
    code, output, blank = score(
        model,
        write_csv(tmp_path / "b.csv", empty),
        canonical["events"],
        tmp_path / "b-out.csv",
        "--engine",
        engine,
    )
    assert code == 0, output
    assert without == blank  # an absent optional field reads as missing, like an empty one
    assert without != expected(canonical, engine)  # and the rule on it no longer fires


@pytest.mark.parametrize("where", ["model", "file"])
def test_a_team_mapping_in_the_model_or_a_file(
    where: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    rename = {"job_title": "Funktion", "company": "Firma", "event_id": "Nr"}
    contacts = write_csv(tmp_path / "kontakte.csv", example["contacts"], rename=rename)
    events = write_csv(tmp_path / "aktivitaeten.csv", example["events"], rename=rename)
    mapping = "contacts: {Funktion: job_title, firma: company}\nevents: {Nr: event_id}\n"
    model, extra = EXAMPLES / "model.yaml", ()
    if where == "model":
        model = tmp_path / "model.yaml"
        indented = "".join(f"  {line}\n" for line in mapping.splitlines())
        model.write_text((EXAMPLES / "model.yaml").read_text() + "\nmapping:\n" + indented)
    else:
        (tmp_path / "mapping.yaml").write_text(mapping)
        extra = ("--mapping", str(tmp_path / "mapping.yaml"))
    code, output, got = score(model, contacts, events, tmp_path / "s.csv", *extra)
    assert code == 0, output
    assert got == expected(canonical, "duckdb")


def test_errors_in_a_mapped_file_name_its_own_columns(
    example: dict[str, Table], tmp_path: Path
) -> None:
    header, rows = example["events"]
    rows = [*rows, [rows[0][0], *rows[0][1:]]]  # a repeated event id, at the last row
    contacts = write_csv(tmp_path / "c.csv", example["contacts"], rename=HUBSPOT_CONTACTS)
    events = write_csv(tmp_path / "e.csv", (header, rows), rename=HUBSPOT_EVENTS, delimiter=";")
    code, output, _ = score(
        EXAMPLES / "model.yaml", contacts, events, tmp_path / "s.csv", "--preset", "hubspot"
    )
    assert code == 1
    assert f"e.csv, row {len(rows)}, column 'id': duplicate event_id" in output
    assert str(tmp_path / "e.csv") in output  # the original file, not a temporary copy


def test_marketo_activity_types_are_mapped_only_in_its_export(tmp_path: Path) -> None:
    marketo = tmp_path / "activities.csv"
    marketo.write_text(
        "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue\n"
        "1001,7,2026-10-01T10:00:00Z,1,/pricing\n"
        "1002,7,2026-10-02T10:00:00Z,2,Demo form\n"
        "1003,7,2026-10-03T10:00:00Z,46,Interesting moment\n"
    )
    options = ReadOptions(mapping=load_preset("marketo"))
    source = Source(marketo, "events", options)
    assert source.header[:4] == ["event_id", "contact_id", "timestamp", "type"]
    assert [r.record["type"] for r in source.rows()] == ["page_view", "form_submit", "46"]
    # A canonical file read with a preset is left as it is (its types are the model's).
    plain = tmp_path / "events.csv"
    plain.write_text("event_id,contact_id,type,timestamp\ne1,c1,1,2026-10-01\n")
    assert Source(plain, "events", options).canonical


def test_presets_load_and_bad_mappings_are_named(tmp_path: Path) -> None:
    for name in ("hubspot", "salesforce", "marketo", "pardot"):
        preset = load_preset(name)
        assert preset.contacts and preset.events and preset.vendor_types
        assert {"contact_id", "email", "job_title"} <= set(preset.contacts.values())
        assert {"event_id", "contact_id", "type", "timestamp"} <= set(preset.events.values())
    with pytest.raises(MappingError, match="unknown preset 'hubspt'"):
        build_mapping(preset="hubspt")
    bad = tmp_path / "m.yaml"
    bad.write_text("contact: {A: b}\n")
    with pytest.raises(MappingError, match="unknown key"):
        build_mapping(mapping_file=bad)


def test_the_model_language_keeps_mapping_and_optional_fields() -> None:
    from leadscore.spec import ModelError, dump_model, parse_model

    text = (EXAMPLES / "model.yaml").read_text(encoding="utf-8") + (
        "\noptional_fields: [phone, authority]\n"
        "mapping:\n  preset: pardot\n  contacts: {Titel: job_title}\n  event_types: {Besuch: page_view}\n"
    )
    model = parse_model(text)
    assert model.optional_fields == ("phone", "authority")
    assert model.mapping is not None and model.mapping.preset == "pardot"
    again = parse_model(dump_model(model))
    assert again.optional_fields == model.optional_fields and again.mapping == model.mapping
    with pytest.raises(ModelError, match="preset"):
        parse_model(text.replace("preset: pardot", "preset: zoho"))


def test_explain_reads_an_export_through_its_preset(
    example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from leadscore.cli.main import app

    contacts = write_csv(tmp_path / "c.csv", example["contacts"], rename=HUBSPOT_CONTACTS)
    base = [
        "explain",
        "--contact",
        "c0003",
        "-m",
        str(EXAMPLES / "model.yaml"),
        "--as-of",
        "2026-11-01",
    ]
    want = CliRunner().invoke(
        app, [*base, "-c", str(canonical["contacts"]), "-e", str(canonical["events"])]
    )
    got = CliRunner().invoke(
        app, [*base, "-c", str(contacts), "-e", str(canonical["events"]), "--preset", "hubspot"]
    )
    assert want.exit_code == 0 and got.exit_code == 0, got.output
    assert "senior-title" in want.output  # a profile rule on a renamed field fired
    assert want.stdout == got.stdout
    bare = CliRunner().invoke(app, [*base, "-c", str(contacts), "-e", str(canonical["events"])])
    assert bare.exit_code == 1 and "'Record ID' is contact_id with --preset hubspot" in bare.output
