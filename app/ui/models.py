"""Views of the model registry: versions, aliases, gates, promotion, audit log.

Every view holds a :class:`~app.ui.model_data.RegistryData` and its own
``param`` state (the model version chosen, the alias and scope to move, the
reason) and redraws when the data source reads the store again. Promotion and
rollback go through the data source, which reads the store again afterwards,
so every view shows the move at once.
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from app.ui.model_data import (
    GateReport,
    Outcome,
    RegistryData,
    fill_registry_instructions,
)
from app.ui.navigation import ReadFailure
from registry.aliases import ALIASES
from registry.policy import GateVerdict, PromotionPolicy
from registry.store import StoreError

_TABLE_OPTIONS = {
    "disabled": True,
    "show_index": False,
    "sizing_mode": "stretch_width",
    "layout": "fit_data_stretch",
}
_PLAIN = {"type": "plaintext"}  # counts without "1,234" grouping
_WRAPPED = {"type": "textarea"}  # long text wraps inside its cell
ALIAS_COLOURS = {"champion": "#dcefe1", "challenger": "#fbefcf"}
"""Row background of a model version that is a champion or a challenger."""

VERDICTS = {True: "pass", False: "fail", None: "no evidence"}


class RegistryMessage(ReadFailure):
    """A warning shown while the last read of the registry failed.

    Parameters
    ----------
    source : RegistryData
        The data source whose ``message`` is shown.
    """

    source = param.ClassSelector(class_=RegistryData)

    shown = "The model versions below"


class AliasSummary(Viewer):
    """The champion and challenger of every scope, or how to make a version.

    Parameters
    ----------
    source : RegistryData
        The data source to show.
    """

    source = param.ClassSelector(class_=RegistryData)

    def __init__(self, **params):
        super().__init__(**params)
        self.text = pn.pane.Markdown(sizing_mode="stretch_width")
        self.source.param.watch(self._update, ["versions", "aliases"])
        self._update()

    def _update(self, *events: param.parameterized.Event) -> None:
        if not self.source.versions:
            self.text.object = fill_registry_instructions(str(self.source.path))
            return
        self.text.object = alias_lines(self.source)

    def __panel__(self) -> pn.viewable.Viewable:
        return self.text


def alias_lines(source: RegistryData) -> str:
    """Return Markdown naming the champion and challenger of every scope."""
    count = len(source.versions)
    head = f"{count} model version{'s' if count != 1 else ''} in the store."
    if not source.aliases:
        return f"{head} No alias names a version yet: promote one below."

    lines = [head, ""]
    for target in source.aliases:
        lines.append(
            f"- **{target.alias}** of **{target.scope}**: model version "
            f"`{target.version_id}` (since {target.moved_at:%Y-%m-%d %H:%M} UTC)"
        )
    return "\n".join(lines)


class VersionTable(Viewer):
    """Every model version, newest first, champion and challenger rows coloured.

    Parameters
    ----------
    source : RegistryData
        The data source to show.
    version_id : str
        The version of the row last clicked; empty until one is.

    Attributes
    ----------
    table : panel.widgets.Tabulator
        One row per model version.
    holder : panel.Column
        Holds ``table`` while there is a version to list. A table is added
        when it has rows rather than shown after being hidden, since a table
        first drawn hidden stays empty in the browser.
    """

    source = param.ClassSelector(class_=RegistryData)

    version_id = param.String(default="", doc="The version of the row clicked.")

    def __init__(self, **params):
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(),
            selectable=1,
            formatters={
                "matches": _PLAIN,
                "divergences": _PLAIN,
                "caveats": _WRAPPED,
            },
            widths={"caveats": 280},
            **_TABLE_OPTIONS,
        )
        self.table.style.apply(_alias_colours, axis=1)
        self.holder = pn.Column(sizing_mode="stretch_width")
        self.table.param.watch(self._select, "selection")
        self.source.param.watch(self._update, ["versions", "aliases"])
        self._update()

    def _update(self, *events: param.parameterized.Event) -> None:
        self.table.value = self.source.versions_frame()
        self.holder.objects = [self.table] if self.source.versions else []

    def _select(self, event: param.parameterized.Event) -> None:
        rows = self.table.value
        if event.new and event.new[0] < len(rows):
            self.version_id = str(rows["version_id"].iloc[event.new[0]])

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Model versions",
            "Click a row to judge that model version below.",
            self.holder,
            sizing_mode="stretch_width",
        )


def _alias_colours(row: pd.Series) -> list[str]:
    named = str(row.get("aliases", ""))
    for alias in ALIASES:
        if f"{alias} of" in named:
            colour = ALIAS_COLOURS[alias]
            return [f"background-color: {colour}; font-weight: 600"] * len(row)
    return [""] * len(row)


class AuditLogTable(Viewer):
    """The latest moves of every alias, newest first.

    Parameters
    ----------
    source : RegistryData
        The data source to show.

    Attributes
    ----------
    table : panel.widgets.Tabulator
        One row per audit-log entry.
    holder : panel.Column
        Holds ``table`` while the log has entries (see ``VersionTable``).
    """

    source = param.ClassSelector(class_=RegistryData)

    def __init__(self, **params):
        super().__init__(**params)
        self.summary = pn.pane.Markdown(sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(),
            formatters={"reason": _WRAPPED},
            widths={"reason": 300},
            **_TABLE_OPTIONS,
        )
        self.holder = pn.Column(sizing_mode="stretch_width")
        self.source.param.watch(self._update, "audit")
        self._update()

    def _update(self, *events: param.parameterized.Event) -> None:
        self.table.value = self.source.audit_frame()
        self.holder.objects = [self.table] if self.source.audit else []
        self.summary.object = (
            f"The latest {len(self.source.audit)} moves, newest first: who moved "
            "which alias, when, why, and whether failing gates were forced."
            if self.source.audit
            else "No alias has moved yet."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Audit log", self.summary, self.holder, sizing_mode="stretch_width"
        )


class PromotionPanel(Viewer):
    """The gate report of a model version, and the promote and rollback buttons.

    Parameters
    ----------
    source : RegistryData
        The data source that judges and moves.
    versions : VersionTable, optional
        A table whose clicked row chooses the version here.
    version_id : str
        The model version judged and promoted.
    alias : str
        ``champion`` or ``challenger``.
    scope : str
        The league set the alias belongs to; the version's own by default.
    reason : str
        Why; required by both buttons.
    force : bool
        Promote even when a gate does not pass, on the record.

    Attributes
    ----------
    report : GateReport or None
        The last gate report shown.
    outcome : Outcome or None
        What the last button press came to.
    """

    source = param.ClassSelector(class_=RegistryData)

    versions = param.ClassSelector(class_=VersionTable, default=None, allow_None=True)

    version_id = param.Selector(default=None, objects=[], allow_None=True)

    alias = param.Selector(default="champion", objects=list(ALIASES))

    scope = param.String(default="", doc="League set, e.g. E0 or E0,SP1.")

    reason = param.String(default="", doc="Why the alias moves.")

    force = param.Boolean(default=False, doc="Override gates that do not pass.")

    def __init__(self, **params):
        super().__init__(**params)
        self.report: GateReport | None = None
        self.outcome: Outcome | None = None
        self._build_widgets()
        self.source.param.watch(self._sync_versions, "loaded_at")
        if self.versions is not None:
            self.versions.param.watch(self._clicked, "version_id")
        self._sync_versions()

    def _build_widgets(self) -> None:
        self.picker = pn.widgets.Select.from_param(
            self.param.version_id, label="model version", width=380
        )
        self.alias_picker = pn.widgets.RadioButtonGroup.from_param(
            self.param.alias, label="alias", color="primary", variant="outline"
        )
        self.scope_input = pn.widgets.TextInput.from_param(
            self.param.scope, label="scope", width=160
        )
        self.reason_input = pn.widgets.TextInput.from_param(
            self.param.reason,
            label="reason",
            placeholder="why, e.g. beats the champion on the 2023 backtest",
            width=380,
        )
        self.reason_input.param.watch(self._typed, "value_input")
        self.force_box = pn.widgets.Checkbox.from_param(
            self.param.force, label="force: override gates that do not pass"
        )
        self.promote_button = pn.widgets.Button(label="Promote", color="primary")
        self.rollback_button = pn.widgets.Button(
            label="Roll back", color="warning", variant="outline"
        )
        self.promote_button.on_click(lambda event: self.promote())
        self.rollback_button.on_click(lambda event: self.rollback())

        self.gates = pn.widgets.Tabulator(
            pd.DataFrame(columns=["gate", "verdict", "detail"]),
            formatters={"detail": _WRAPPED},
            widths={"detail": 340},
            **_TABLE_OPTIONS,
        )
        self.gates.style.apply(_verdict_colours, axis=1)
        self.verdict = pn.pane.Markdown(sizing_mode="stretch_width")
        self.policy_line = pn.pane.Markdown(
            policy_text(self.source.policy), sizing_mode="stretch_width"
        )
        self.result = pn.pane.Alert(sizing_mode="stretch_width", visible=False)

    def _sync_versions(self, *events: param.parameterized.Event) -> None:
        options = {
            f"{v.version_id} · {v.model} · {v.scope or 'no scope'} · "
            f"{v.created_at:%Y-%m-%d %H:%M}": v.version_id
            for v in reversed(self.source.versions)
        }
        self.param.version_id.objects = options
        chosen = self.version_id if self.version_id in options.values() else None
        if chosen is None and options:
            chosen = next(iter(options.values()))
        if chosen != self.version_id:
            self.version_id = chosen
        else:
            self.judge()

    def _clicked(self, event: param.parameterized.Event) -> None:
        if event.new in self.param.version_id.objects:
            self.version_id = event.new

    def _typed(self, event: param.parameterized.Event) -> None:
        self.reason = event.new or ""

    @param.depends("version_id", watch=True)
    def _version_chosen(self) -> None:
        version = self.source.version(self.version_id) if self.version_id else None
        scope = (version.scope or "") if version else ""
        if scope != self.scope:
            self.scope = scope  # judged by the watcher of scope
        else:
            self.judge()

    @param.depends("alias", "scope", watch=True)
    def judge(self) -> None:
        """Judge the chosen version for the alias and scope, and show the gates."""
        self.report = None
        enabled = bool(self.version_id)
        self.promote_button.disabled = not enabled
        if not enabled:
            self.gates.value = self.gates.value.iloc[0:0]
            self.verdict.object = "No model version to judge."
            return
        try:
            self.report = self.source.gate_report(
                self.version_id, self.alias, self.scope
            )
        except StoreError as exc:
            self.gates.value = self.gates.value.iloc[0:0]
            self.verdict.object = f"The gates could not be judged: {exc}"
            return
        self.gates.value = gate_frame(self.report.verdicts)
        self.verdict.object = report_text(self.report)

    def promote(self) -> Outcome:
        """Promote the chosen version with the reason and force as set."""
        outcome = self.source.promote(
            self.version_id or "",
            alias=self.alias,
            scope=self.scope,
            reason=self.reason,
            force=self.force,
        )
        return self._show(outcome)

    def rollback(self) -> Outcome:
        """Roll the alias of the scope back to its version before the last move."""
        outcome = self.source.rollback(
            alias=self.alias, scope=self.scope, reason=self.reason
        )
        return self._show(outcome)

    def _show(self, outcome: Outcome) -> Outcome:
        self.outcome = outcome
        text = outcome.text
        if outcome.report is not None:
            text += "\n\n" + verdict_list(outcome.report.verdicts)
        self.result.param.update(
            object=text, alert_type=outcome.level, visible=bool(text)
        )
        if outcome.level == "success":
            self.reason = ""
            self.force = False
        self.judge()
        return outcome

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            self.picker,
            pn.Row(self.alias_picker, self.scope_input),
            self.reason_input,
            self.force_box,
            pn.Row(self.promote_button, self.rollback_button),
            width=420,
        )
        report = pn.Column(
            self.verdict, self.gates, self.policy_line, sizing_mode="stretch_width"
        )
        return pn.Column(
            "### Gates, promotion and rollback",
            "**Promote** moves the alias of the scope to the model version when "
            "every gate passes, or with **force**; **Roll back** returns the alias "
            "to the version it named before its latest promotion. Both need a "
            "reason and write it to the audit log.",
            pn.Row(controls, report, sizing_mode="stretch_width"),
            self.result,
            sizing_mode="stretch_width",
        )


def gate_frame(verdicts: tuple[GateVerdict, ...]) -> pd.DataFrame:
    """Return one row per gate: its name, verdict word and detail."""
    rows = [(v.name, VERDICTS[v.passed], v.detail) for v in verdicts]
    return pd.DataFrame(rows, columns=["gate", "verdict", "detail"])


def _verdict_colours(row: pd.Series) -> list[str]:
    colour = {"pass": "#dcefe1", "fail": "#f8d7da"}.get(row["verdict"], "#fbefcf")
    return [f"background-color: {colour}"] * len(row)


def verdict_list(verdicts: tuple[GateVerdict, ...]) -> str:
    """Return the gates' verdicts as a Markdown list."""
    return "\n".join(
        f"- {v.name}: **{VERDICTS[v.passed]}**, {v.detail}" for v in verdicts
    )


def report_text(report: GateReport) -> str:
    """Return one paragraph on what a gate report means for a promotion."""
    target = f"**{report.alias}** of **{report.scope}**"
    if report.current == report.version_id:
        return f"Model version `{report.version_id}` is already the {target}."
    held = f"now `{report.current}`" if report.current else "no model version yet"
    target = f"{target} ({held})"
    if report.passed:
        return f"Model version `{report.version_id}` passes every gate for {target}."
    blocking = ", ".join(v.name for v in report.blocking)
    return (
        f"Model version `{report.version_id}` for {target} is blocked by: "
        f"{blocking}. Promote with **force** and a reason to override."
    )


def policy_text(policy: PromotionPolicy) -> str:
    """Return the promotion policy's limits on one line."""
    drift = "required" if policy.require_drift_check else "not required"
    return (
        f"Policy: max_rhat ≤ {policy.max_rhat:g} · min_ess_bulk ≥ "
        f"{policy.min_ess_bulk:g} · min_ess_tail ≥ {policy.min_ess_tail:g} · "
        f"divergences ≤ {policy.max_divergences} · at least "
        f"{policy.min_paired_matches} paired matches · drift check {drift}."
    )
