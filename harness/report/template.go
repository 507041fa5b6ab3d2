package report

import "html/template"

// pageTemplate is the whole page. The CSS is inline and uses the system's
// fonts: the file must render the same with no network at all.
var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edabench · {{.Name}} · {{.RunID}}</title>
<style>
:root { --ink: #1a1a1a; --muted: #666; --rule: #e3e3e3; --bg: #fafafa;
  --good: #2b8a3e; --good-bg: #ebfbee; --bad: #c92a2a; --bad-bg: #fff0f0; --warn: #b35c00; --warn-bg: #fff4e0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 2px 0 4px; }
h1 .runid { font: 500 14px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); margin-left: 10px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 14px; margin: 18px 0 6px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; color: var(--muted); }
.desc { margin: 0 0 10px; color: #333; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; font-size: 13px; }
.meta div { display: flex; gap: 6px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; vertical-align: baseline; }
.partial { margin: 14px 0 0; padding: 12px 16px; border: 2px solid var(--bad); background: var(--bad-bg); color: var(--bad); border-radius: 6px; font-size: 15px; }
.notes { margin: 12px 0 0; padding: 8px 14px; background: var(--warn-bg); border-left: 4px solid var(--warn); font-size: 12.5px; }
.notes ul { margin: 4px 0 0; padding-left: 18px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(370px, 1fr)); gap: 14px 22px; align-items: start; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
thead th { border-bottom: 1.5px solid #ccc; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { text-align: left; font-weight: 600; padding: 0 0 4px; font-size: 13.5px; }
.hint { display: block; color: #888; font-size: 11px; font-weight: normal; line-height: 1.2; }
td.bad { color: var(--bad); font-weight: 600; background: var(--bad-bg); }
td.warn { color: var(--warn); font-weight: 600; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 600; font-size: 12px; white-space: nowrap; }
.pill.good { color: #fff; background: var(--good); }
.pill.bad { color: #fff; background: var(--bad); }
.pill.warn { color: #fff; background: var(--warn); }
.pill.neutral { color: #333; background: #e9ecef; }
.verdict .fig { font-size: 11px; color: #555; white-space: nowrap; }
.this-run { font-weight: 700; }
.runs { font: 11.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
.caption { margin: 0 0 8px; color: #555; font-size: 12.5px; max-width: 980px; }
.chartrow { display: flex; flex-wrap: wrap; gap: 16px; }
.chartrow svg { background: #fff; border: 1px solid var(--rule); border-radius: 4px; flex: 1 1 520px; max-width: 100%; height: auto; }
pre { background: #fff; border: 1px solid var(--rule); padding: 10px 12px; font-size: 12px; overflow: auto; margin: 0; white-space: pre-wrap; word-break: break-word; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; align-items: start; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<main>
<header>
<div class="eyebrow">edabench run report</div>
<h1>{{.Name}}<span class="runid">{{.RunID}}</span></h1>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
<dl class="meta">
<div><dt>started</dt><dd>{{or .Started "—"}}</dd></div>
<div><dt>ended</dt><dd>{{or .Ended "—"}}</dd></div>
{{if .Duration}}<div><dt>took</dt><dd>{{.Duration}}</dd></div>{{end}}
<div><dt>twins</dt><dd>{{range $i, $t := .Twins}}{{if $i}}, {{end}}<span class="dot" style="background: {{$t.Color}}"></span>{{$t.Name}}{{end}}</dd></div>
{{if .Environment}}<div><dt>on</dt><dd>{{.Environment}}</dd></div>{{end}}
</dl>
{{if .Partial}}<div class="partial" id="partial"><strong>PARTIAL RUN</strong>: the run did not finish its schedule{{if .PartialReason}} ({{.PartialReason}}){{end}}. The figures are what was measured until it stopped.</div>{{end}}
{{if .Warnings}}<div class="notes"><strong>Not everything could be read</strong>; the charts concerned say "no data":<ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
</header>

<h2>Summary</h2>
<div class="grid">
{{range .Sections}}<table class="fig">
<caption>{{.Title}}{{if .Note}}<span class="hint">{{.Note}}</span>{{end}}</caption>
<thead><tr><th></th>{{range $.Twins}}<th class="num"><span class="dot" style="background: {{.Color}}"></span>{{.Name}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr><td>{{.Label}}{{if .Hint}}<span class="hint">{{.Hint}}</span>{{end}}</td>{{range .Cells}}<td class="num{{if .Class}} {{.Class}}{{end}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}</div>

{{if .HasLatency}}<h3>Latency (ms)</h3>
<table class="latency">
<thead><tr><th>metric</th><th>twin</th><th class="num">count</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th><th class="num">mean</th></tr></thead>
<tbody>{{range .Latency}}<tr>{{if .First}}<td rowspan="{{.Span}}">{{.Metric}}<span class="hint">{{.Hint}}</span></td>{{end}}<td><span class="dot" style="background: {{.Twin.Color}}"></span>{{.Twin.Name}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{end}}

{{if .HasFaults}}<h2>Fault windows</h2>
<table class="faults">
<thead><tr><th>twin</th><th>fault</th><th class="num">start (s)</th><th class="num">end (s)</th><th class="num">errors</th><th class="num">timeouts</th><th class="num">dropped</th><th class="num">backlog</th><th class="num">recovery (ms)</th><th class="num">drain (ms)</th>{{if (index .Faults 0).ShowError}}<th>error</th>{{end}}</tr></thead>
<tbody>{{range .Faults}}<tr><td><span class="dot" style="background: {{.Twin.Color}}"></span>{{.Twin.Name}}</td><td>{{.Fault}}</td><td class="num">{{.Start}}</td><td class="num">{{.End}}</td><td class="num {{.ErrorsClass}}">{{.Errors}}</td><td class="num {{.TimeoutsClass}}">{{.Timeouts}}</td><td class="num {{.DroppedClass}}">{{.Dropped}}</td><td class="num">{{.Backlog}}</td><td class="num {{.RecoveryClass}}">{{.Recovery}}</td><td class="num {{.DrainClass}}">{{.Drain}}</td>{{if .ShowError}}<td class="bad">{{.Error}}</td>{{end}}</tr>
{{if .Node}}<tr class="node"><td></td><td colspan="{{if .ShowError}}10{{else}}9{{end}}">{{.Node}}</td></tr>
{{end}}{{end}}</tbody>
</table>
<p class="caption">Start and end from the start of each twin's load. Recovery: from the window's end until the per-second end-to-end p99 is back within 20% of its level before the fault. Drain: until the queues are back to their depth before it. Backlog: the most they grew. Under a broker fault, its node's own timeline (stop, away, down) and the twin's first acceptance and completion after the node served again.</p>{{end}}

{{with .Verdict}}<h2>Verdict</h2>
<p class="caption">From {{.Path}}{{if .GeneratedAt}}, generated {{.GeneratedAt}}{{end}}. Runs in bold are this one.</p>
{{if .Claims}}{{if .Backbones}}<h3>Claim × backbone</h3>
<p class="caption">Each claim decided once per backbone, over that backbone's runs and RR's (which use none). Each deciding figure: the median over the scenario's repetitions [its interval] (n, coverage); n=1 is a point, the cell marked single run. Not measured: the claim's scenarios did not run on that backbone. RR only: the cell read RR's runs alone, the same in every column.</p>
<table class="verdict matrix">
<thead><tr><th>#</th><th>claim</th>{{range .Backbones}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Claims}}<tr><td>{{.ID}}</td><td>{{.Claim}}</td>{{range .Cells}}<td><span class="pill {{.Class}}">{{.Status}}</span>{{range .Figures}}<br><span class="fig">{{.}}</span>{{end}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<h3>The claims, per backbone</h3>{{end}}
<table class="verdict">
<thead><tr><th>#</th><th>claim</th>{{if .Backbones}}<th>backbone</th>{{end}}<th>status</th><th>evidence</th><th>conditions</th><th>runs</th></tr></thead>
<tbody>{{range $c := .Claims}}{{range .Cells}}<tr><td>{{$c.ID}}</td><td>{{$c.Claim}}</td>{{if $.Verdict.Backbones}}<td>{{.Backbone}}</td>{{end}}<td><span class="pill {{.Class}}">{{.Status}}</span></td><td>{{.Evidence}}</td><td>{{.Conditions}}</td><td class="runs">{{range $i, $r := .Runs}}{{if $i}}<br>{{end}}{{if $r.This}}<span class="this-run">{{$r.ID}}</span>{{else}}{{$r.ID}}{{end}}{{end}}</td></tr>
{{end}}{{end}}</tbody>
</table>{{else}}<p>The verdict has no claims.</p>{{end}}{{end}}

{{range .Charts}}<h2>{{.Title}}</h2>
<p class="caption">{{.Caption}}</p>
<div class="chartrow">{{range .SVGs}}{{.}}{{end}}</div>
{{end}}

<div class="cols">
<div><h2>Scenario</h2>{{if .Source}}<p class="caption">{{.Source}}</p>{{end}}<pre>{{.ScenarioJSON}}</pre></div>
<div><h2>Environment</h2><pre>{{.EnvironmentJSON}}</pre></div>
</div>
<footer>Generated {{.Generated}} by edabench report from {{.Folder}}.</footer>
</main>
</body>
</html>
`))
