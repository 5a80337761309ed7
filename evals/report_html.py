"""The HTML report: one self-contained page (CSS inline, plots as base64 PNGs).

Everything that comes from a dataset or a draft is escaped: tickets are written by
strangers, and some of ours are prompt injections on purpose.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from evals import plots
from evals.summary import HEADLINE

CSS = """
:root { --ink:#1f2933; --muted:#66717d; --line:#e3e7ec; --bg:#f6f8fa; --ok:#2f8a4f;
        --bad:#c2402b; --accent:#3b6fb6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,
       Arial,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:28px 24px 60px; }
h1 { font-size:26px; margin:0 0 4px; } h2 { font-size:20px; margin:36px 0 12px; }
h3 { font-size:15px; margin:22px 0 8px; color:var(--muted); text-transform:uppercase;
     letter-spacing:.04em; }
.sub { color:var(--muted); margin:0 0 18px; }
.badge { display:inline-block; padding:2px 10px; border-radius:999px; font-weight:600;
         font-size:12px; color:white; vertical-align:middle; }
.pass { background:var(--ok); } .fail { background:var(--bad); }
section.dataset { background:white; border:1px solid var(--line); border-radius:10px;
                  padding:6px 22px 20px; margin:24px 0; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:12px 0; }
.card { background:var(--bg); border:1px solid var(--line); border-radius:8px; padding:8px 14px;
        min-width:118px; }
.card .v { font-size:21px; font-weight:650; } .card .k { color:var(--muted); font-size:12px; }
.card.bad { border-color:var(--bad); } .card.bad .v { color:var(--bad); }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:14px;
        align-items:start; }
figure { margin:0; background:white; border:1px solid var(--line); border-radius:8px;
         padding:8px; text-align:center; }
figure img { max-width:100%; height:auto; }
table { border-collapse:collapse; width:100%; background:white; font-size:13px; }
th, td { text-align:left; padding:6px 9px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { background:var(--bg); font-weight:600; position:sticky; top:0; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr.failrow td { background:#fdf1ef; }
td.id { white-space:nowrap; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; }
.kv { margin:0; padding:0; list-style:none; } .kv li { margin:0 0 2px; word-break:break-word; }
.kv b { color:var(--muted); font-weight:600; }
details > summary { cursor:pointer; font-weight:600; margin:10px 0; }
.scroll { max-height:640px; overflow:auto; border:1px solid var(--line); border-radius:8px; }
.note { color:var(--muted); font-size:13px; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _kv(mapping: dict[str, Any]) -> str:
    items = []
    for key, value in mapping.items():
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        items.append(f"<li><b>{escape(key)}</b>: <span class=mono>{escape(text)}</span></li>")
    return f"<ul class=kv>{''.join(items)}</ul>"


def _failed_metrics(report: dict[str, Any], key: str) -> set[str]:
    return {row["metric"] for row in report.get("thresholds", [])
            if row["dataset"] == key and not row["passed"]}


def _cards(data: dict[str, Any], failed: set[str]) -> str:
    cards = [f'<div class=card><div class=v>{data["n"]}</div><div class=k>rows</div></div>']
    for metric, short in HEADLINE:
        value = data.get(metric)
        if isinstance(value, int | float):
            bad = " bad" if metric in failed else ""
            cards.append(f'<div class="card{bad}"><div class=v>{value:.3f}</div>'
                         f'<div class=k>{escape(short)}</div></div>')
    latency = data.get("latency_ms", {})
    cards.append(f'<div class=card><div class=v>{_ms(latency.get("p50"))}</div>'
                 f'<div class=k>ms per ticket, p50 (p95 {_ms(latency.get("p95"))})</div></div>')
    llm = data["llm"]
    cards.append(f'<div class=card><div class=v>{llm["calls_per_ticket"]:g}</div>'
                 f'<div class=k>LLM calls / ticket ({llm["tokens_per_ticket"]:g} tokens)</div>'
                 "</div>")
    return f"<div class=cards>{''.join(cards)}</div>"


def _figures(key: str, data: dict[str, Any]) -> str:
    figures = []
    if data.get("team_n"):
        confusion = data["team_confusion"]
        figures.append(_img(plots.confusion_png(confusion["labels"], confusion["matrix"],
                                                f"{key}: team confusion"), "team confusion"))
        figures.append(_img(plots.per_class_png(data["per_team"], "precision and recall "
                                                "per team (support)"), "per-team bars"))
        calibration = data["team_calibration"]
        figures.append(_img(plots.reliability_png(calibration["bins"], calibration["ece"],
                                                  "team_confidence reliability"),
                            "reliability diagram"))
    if data.get("kind_n"):
        kind = data["kind_confusion"]
        figures.append(_img(plots.confusion_png(kind["labels"], kind["matrix"],
                                                f"{key}: kind confusion"), "kind confusion"))
    if data.get("draft_checks"):
        figures.append(_img(plots.rates_png(data["draft_checks"], "draft checks: pass rate",
                                            floor=0.95), "draft checks"))
    return f"<div class=grid>{''.join(figures)}</div>" if figures else ""


def _threshold_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p class=note>No thresholds apply to the evaluated datasets.</p>"
    body = []
    for row in rows:
        bound = " – ".join(filter(None, [f"≥ {row['min']:.2f}" if row["min"] is not None
                                         else "", f"≤ {row['max']:.2f}"
                                         if row["max"] is not None else ""]))
        badge = "<span class='badge pass'>pass</span>" if row["passed"] else \
            "<span class='badge fail'>fail</span>"
        cls = "" if row["passed"] else " class=failrow"
        body.append(f"<tr{cls}><td>{escape(row['dataset'])}</td><td>{escape(row['metric'])}"
                    f"</td><td class=num>{_fmt(row['value'])}</td><td class=num>{bound}</td>"
                    f"<td>{badge}</td></tr>")
    return ("<table><tr><th>dataset</th><th>metric</th><th>value</th><th>threshold</th>"
            f"<th>result</th></tr>{''.join(body)}</table>")


def _failures_table(failures: list[dict[str, Any]]) -> str:
    if not failures:
        return "<p class=note>No failing rows.</p>"
    rows = []
    for f in failures:
        got = dict(f.get("got", {}))
        got.update(f.get("checks", {}))
        if "error" in f:
            got["error"] = f["error"]
        if "team_confidence" in f:
            got["team_confidence"] = f["team_confidence"]
        fold = f" <span class=note>(fold {f['fold']})</span>" if "fold" in f else ""
        rows.append(f"<tr><td class='mono id'>{escape(f['id'])}{fold}</td>"
                    f"<td>{escape(', '.join(f['failed']) or 'error')}</td>"
                    f"<td>{_kv(f.get('expected', {}))}</td><td>{_kv(got)}</td></tr>")
    return (f"<details open><summary>{len(failures)} failing rows</summary><div class=scroll>"
            "<table><tr><th>id</th><th>failed</th><th>expected</th><th>got</th></tr>"
            f"{''.join(rows)}</table></div></details>")


def _extras(data: dict[str, Any]) -> str:
    parts = []
    judge = data.get("llm_judge")
    if judge:
        rates = {c: judge.get(f"{c}_rate") for c in ("helpful", "tone", "grounded")}
        parts.append(f"<h3>LLM judge ({escape(judge['model'])})</h3><p>pass rate "
                     f"<b>{_fmt(judge['pass_rate'])}</b> on {judge['n']} drafts</p>"
                     + _img(plots.rates_png(rates, "LLM judge: pass rate per criterion"),
                            "judge"))
    baselines = data.get("baselines")
    if baselines:
        models = {"Sidekick (this run)": data, **baselines.get("models", {})}
        rows = "".join(f"<tr><td>{escape(name)}</td><td class=num>{_fmt(m.get('team_accuracy'))}"
                       f"</td><td class=num>{_fmt(m.get('team_macro_f1'))}</td><td class=num>"
                       f"{_fmt(m.get('kind_accuracy'))}</td></tr>"
                       for name, m in models.items())
        parts.append(f"<h3>Baselines on the same folds</h3><p class=note>"
                     f"{escape(baselines.get('note', ''))}</p><table><tr><th>model</th>"
                     f"<th>team acc.</th><th>team macro-F1</th><th>kind acc.</th></tr>{rows}"
                     "</table>")
    if data.get("skipped"):
        parts.append(f"<p class=note>Skipped {len(data['skipped'])} rows whose data is absent: "
                     f"{escape(', '.join(data['skipped'][:12]))}…</p>")
    return "".join(parts)


def _overview(datasets: dict[str, dict[str, Any]]) -> str:
    shown = [(m, short) for m, short in HEADLINE
             if any(isinstance(d.get(m), int | float) for d in datasets.values())]
    head = "".join(f"<th>{escape(short)}</th>" for _, short in shown)
    rows = []
    for key, data in datasets.items():
        cells = "".join(f"<td class=num>{_fmt(data.get(m))}</td>" for m, _ in shown)
        latency = data.get("latency_ms", {})
        rows.append(f"<tr><td><a href='#{escape(key)}'>{escape(key)}</a></td>"
                    f"<td class=num>{data['n']}</td>{cells}<td class=num>"
                    f"{_ms(latency.get('p50'))} / {_ms(latency.get('p95'))}</td>"
                    f"<td class=num>{len(data['failures'])}</td></tr>")
    return (f"<table><tr><th>dataset</th><th>rows</th>{head}<th>ms p50 / p95</th>"
            f"<th>failing rows</th></tr>{''.join(rows)}</table>")


def _dataset_section(key: str, data: dict[str, Any], report: dict[str, Any]) -> str:
    cv = data.get("cv")
    how = f"{cv['folds']}-fold cross-validation (seed {cv['seed']})" if cv else "as shipped"
    return (f"<section class=dataset id='{escape(key)}'><h2>{escape(key)}</h2>"
            f"<p class=sub><code>{escape(data['path'])}</code> · {escape(data['engine'])} "
            f"engine · {how} · {data['wall_s']} s</p>"
            f"{_cards(data, _failed_metrics(report, key))}{_figures(key, data)}"
            f"{_extras(data)}<h3>Failing rows</h3>{_failures_table(data['failures'])}</section>")


def render_html(report: dict[str, Any]) -> str:
    """The whole page as a string."""
    passed = report.get("gate_passed", True)
    badge = ("<span class='badge pass'>all thresholds met</span>" if passed else
             "<span class='badge fail'>below threshold</span>")
    run = report.get("run", {})
    sections = "".join(_dataset_section(k, d, report) for k, d in report["datasets"].items())
    judge = ("" if report.get("llm_judge") else
             "<p class=note>LLM judge skipped: no LLM configured.</p>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width,initial-scale=1'><title>Sidekick eval report</title>"
            f"<style>{CSS}</style></head><body><main><h1>Sidekick eval report {badge}</h1>"
            f"<p class=sub>{escape(report.get('created_at', ''))} · engine "
            f"{escape(str(run.get('engine', '')))} · {report.get('n', 0)} rows in "
            f"{run.get('wall_s', '?')} s</p><h2>Datasets</h2>{_overview(report['datasets'])}"
            "<h2>Thresholds</h2>"
            f"{_threshold_table(report.get('thresholds', []))}{judge}{sections}</main></body>"
            "</html>")


def write_html(report: dict[str, Any], path: Path) -> None:
    """Render and write the page."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
