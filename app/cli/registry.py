"""``touchline registry``: model versions, aliases, promotion and integrity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import (
    EXIT_ALERT,
    AliasName,
    Context,
    FormatOption,
    OutputFormat,
    emit_id,
    emit_json,
    emit_table,
    shown_value,
)
from registry.aliases import audit_log, check_scope, list_aliases, rollback
from registry.evidence import version_scores
from registry.integrity import check_integrity
from registry.promotion import PromotionBlocked, evaluate_gates, promote
from registry.provenance import current_user
from registry.versions import delete_version, export_version, get_version, list_versions

group = typer.Typer(
    help="Model versions, champion and challenger aliases, and the audit log.",
    no_args_is_help=True,
)

VersionArgument = Annotated[
    str, typer.Argument(help="Version id, or a unique prefix of at least 4 characters.")
]


AliasOption = Annotated[
    AliasName, typer.Option(help="champion or challenger.", show_default=True)
]
ScopeOption = Annotated[
    str | None,
    typer.Option(
        help="League set such as E0 or E0,SP1; default the version's own leagues."
    ),
]


def _aliases_of(ctx_obj: Context) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for target in list_aliases(ctx_obj.store):
        named.setdefault(target.version_id, []).append(f"{target.alias}:{target.scope}")
    return named


@group.command("list")
def list_command(
    ctx: typer.Context,
    scope: Annotated[
        str | None, typer.Option(help="Only versions fitted on this league set.")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List model versions, newest first, with their diagnostics and aliases.

    --scope names the leagues in any order (SP1,E0 is E0,SP1).
    """
    obj: Context = ctx.obj
    canonical = check_scope(scope) if scope is not None else None
    versions = list_versions(obj.store, scope=canonical)[::-1]
    aliases = _aliases_of(obj)
    if fmt is OutputFormat.json:
        emit_json(
            [
                {**v.to_dict(), "aliases": aliases.get(v.version_id, [])}
                for v in versions
            ]
        )
        return
    emit_table(
        "model versions",
        [
            "version",
            "created_at",
            "model",
            "scope",
            "cutoff",
            "max_rhat",
            "divergences",
            "aliases",
        ],
        [
            [
                v.version_id,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.model,
                v.scope,
                v.selection.get("cutoff"),
                _number(v.diagnostics.get("max_rhat")),
                v.diagnostics.get("divergences"),
                " ".join(aliases.get(v.version_id, [])),
            ]
            for v in versions
        ],
    )


@group.command("show")
def show_command(
    ctx: typer.Context, version: VersionArgument, fmt: FormatOption = OutputFormat.table
) -> None:
    """Show a version: config, lineage, diagnostics, metrics, aliases and audit.

    Metrics are the fit's leave-one-out scores of its training matches and,
    once validation has scored the version, its mean out-of-sample scores.
    """
    obj: Context = ctx.obj
    found = get_version(obj.store, version)
    payload = found.to_dict()
    payload["metrics"] = {
        "in_sample": found.diagnostics.get("in_sample"),
        "out_of_sample": version_scores(obj.store, found.version_id),
    }
    payload["aliases"] = _aliases_of(obj).get(found.version_id, [])
    payload["audit"] = [
        e.to_dict() for e in audit_log(obj.store, version_id=found.version_id)
    ]
    if fmt is OutputFormat.json:
        emit_json(payload)
        return
    lineage = [
        "version_id",
        "created_at",
        "model",
        "scope",
        "training_hash",
        "seed",
        "package_version",
        "git_commit",
        "created_by",
        "artefact_sha256",
        "artefact_size",
    ]
    emit_table("version", ["field", "value"], [[k, payload[k]] for k in lineage])
    emit_table("selection", ["field", "value"], _flat(payload["selection"]))
    diagnostics = {k: v for k, v in found.diagnostics.items() if k != "in_sample"}
    emit_table("diagnostics", ["field", "value"], _flat(diagnostics, rounded=True))
    emit_table("metrics", ["field", "value"], _metric_rows(payload["metrics"]))
    emit_table("config", ["field", "value"], _flat(payload["config"]))
    emit_table("aliases", ["alias:scope"], [[a] for a in payload["aliases"]])
    _print_audit("audit", payload["audit"])


@group.command("export")
def export_command(
    ctx: typer.Context,
    version: VersionArgument,
    out: Annotated[Path, typer.Option("--out", help="Where to write the .nc file.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Write a version's posterior as netCDF, readable by arviz.from_netcdf."""
    obj: Context = ctx.obj
    path = export_version(obj.store, version, out, overwrite=overwrite)
    emit_id(str(path))


@group.command("delete")
def delete_command(ctx: typer.Context, version: VersionArgument) -> None:
    """Delete a version that holds no alias and is named by no validation run."""
    obj: Context = ctx.obj
    deleted = delete_version(obj.store, version, deleted_by=current_user())
    emit_id(deleted.version_id)


@group.command("gates")
def gates_command(
    ctx: typer.Context,
    version: VersionArgument,
    alias: AliasOption = AliasName.champion,
    scope: ScopeOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Judge a version against every promotion gate without moving anything.

    Exits with status 3 when a gate fails or has no evidence.
    """
    obj: Context = ctx.obj
    report = evaluate_gates(obj.store, version, alias.value, scope, obj.policy)
    _print_gates(report.to_dict(), fmt)
    if not report.passed:
        raise typer.Exit(EXIT_ALERT)


@group.command("promote")
def promote_command(
    ctx: typer.Context,
    version: VersionArgument,
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit log.")],
    alias: AliasOption = AliasName.champion,
    scope: ScopeOption = None,
    force: Annotated[
        bool, typer.Option(help="Override failing gates; recorded as forced.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Point an alias at a version when every gate of the policy passes.

    Prints each gate's verdict, as judged for the decision and recorded with
    it. A failing gate blocks the move (exit 1) unless --force is given; a
    forced move is recorded as forced. The version id is the last line of
    stdout.
    """
    obj: Context = ctx.obj
    try:
        result = promote(
            obj.store,
            version,
            alias=alias.value,
            scope=scope,
            reason=reason,
            force=force,
            policy=obj.policy,
            who=current_user(),
        )
    except PromotionBlocked as exc:
        if fmt is OutputFormat.json:
            emit_json({"promoted": False, "report": exc.report.to_dict()})
        else:
            _print_gates(exc.report.to_dict(), fmt)
        raise
    if fmt is OutputFormat.json:
        emit_json({"promoted": True, **result.to_dict()})
        return
    if result.report is not None:
        _print_gates(result.report.to_dict(), fmt)
    emit_id(result.version_id)


@group.command("rollback")
def rollback_command(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit log.")],
    scope: Annotated[
        str | None,
        typer.Option(
            help="League set such as E0 or E0,SP1; default the one scope that "
            "has the alias."
        ),
    ] = None,
    alias: AliasOption = AliasName.champion,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Return an alias to the version it named before its last promotion.

    Without --scope, the one scope whose alias names a version is rolled
    back; when several do, the command fails and lists them.
    """
    obj: Context = ctx.obj
    result = rollback(
        obj.store, alias=alias.value, scope=scope, reason=reason, who=current_user()
    )
    if fmt is OutputFormat.json:
        emit_json(result.to_dict())
        return
    emit_id(result.version_id)


@group.command("audit")
def audit_command(
    ctx: typer.Context,
    alias: Annotated[AliasName | None, typer.Option(help="Only this alias.")] = None,
    scope: Annotated[str | None, typer.Option(help="Only this league set.")] = None,
    limit: Annotated[int | None, typer.Option(help="Newest N entries.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the audit log of alias moves: who, when, why, forced or not."""
    obj: Context = ctx.obj
    entries = [
        e.to_dict()
        for e in audit_log(
            obj.store,
            alias=alias.value if alias is not None else None,
            scope=scope,
            limit=limit,
        )
    ]
    if fmt is OutputFormat.json:
        emit_json(entries)
        return
    _print_audit("audit log", entries)


@group.command("check")
def check_command(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Check the whole store's integrity; exit 3 when a problem is found.

    Every version's artefact must match its hash, every alias must name a
    version, the audit log must name known versions and the migrations must be
    complete and in order.
    """
    obj: Context = ctx.obj
    report = check_integrity(obj.store)
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
    else:
        emit_table("rows", ["table", "rows"], [[k, v] for k, v in report.rows.items()])
        emit_table(
            "integrity", ["problem"], [[p] for p in report.problems] or [["none"]]
        )
    if not report.ok:
        raise typer.Exit(EXIT_ALERT)


def _print_audit(title: str, entries: list[dict[str, Any]]) -> None:
    columns = ["moved_at", "action", "alias", "scope", "from_version", "to_version",
               "who", "forced", "reason"]  # fmt: skip
    emit_table(title, columns, [[e[c] for c in columns] for e in entries])


def _print_gates(report: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    verdict = {True: "pass", False: "FAIL", None: "no evidence"}
    emit_table(
        f"gates for {report['version_id']} as {report['alias']} of {report['scope']}",
        ["gate", "verdict", "detail"],
        [[g["name"], verdict[g["passed"]], g["detail"]] for g in report["gates"]],
    )


def _flat(
    mapping: dict[str, Any], prefix: str = "", *, rounded: bool = False
) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flat(value, f"{name}.", rounded=rounded)
        else:
            rows.append([name, shown_value(value) if rounded else value])
    return rows


def _metric_rows(metrics: dict[str, Any]) -> list[list[Any]]:
    missing = {
        "in_sample": "not computed for this version",
        "out_of_sample": "none yet: no validation run has scored this version",
    }
    rows: list[list[Any]] = []
    for kind, values in metrics.items():
        if values is None:
            rows.append([kind, missing[kind]])
        else:
            shown = {k: v for k, v in values.items() if k != "caveats"}
            rows += _flat(shown, f"{kind}.", rounded=True)
    return rows


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"
