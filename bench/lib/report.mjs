// Turns the rounds of each scenario into medians and ratios, and prints them as Markdown tables.
// A ratio is the median of the per-round ratios: contender and baseline ran back to back in each
// round, so pairing them cancels most of the drift of a shared machine.
import { median } from './stats.mjs';

const ok = (result) => result && !result.failed;

/** Median of contender/baseline over the rounds in which both produced a number. */
export function pairedRatio(values, baselineValues) {
  const ratios = [];
  for (let i = 0; i < Math.min(values.length, baselineValues.length); i++) {
    const value = values[i];
    const base = baselineValues[i];
    if (value === null || base === null || value === undefined || base === undefined || base === 0) continue;
    ratios.push(value / base);
  }
  return median(ratios);
}

const metricOf = (scenario) => (scenario.kind === 'idle' ? (result) => result.kibPerConnection : (result) => result.rps);

/** Per contender: medians, error total, the per-round metric, and ratios against each baseline. */
export function summarize(scenario, outcome) {
  if (outcome.unavailable || scenario.kind === 'reload') return null;
  const metric = metricOf(scenario);
  const perRound = {};
  for (const [name, list] of Object.entries(outcome.rounds)) perRound[name] = list.map((result) => (ok(result) ? metric(result) : null));

  const rows = {};
  for (const [name, list] of Object.entries(outcome.rounds)) {
    const good = list.filter(ok);
    rows[name] = {
      metric: median(perRound[name]),
      p50: median(good.map((result) => result.p50 ?? null)),
      p99: median(good.map((result) => result.p99 ?? null)),
      cpuRootUs: median(good.map((result) => result.cpuRootUs ?? null)),
      cpuTotalUs: median(good.map((result) => result.cpuTotalUs ?? null)),
      before: median(good.map((result) => result.before ?? null)),
      after: median(good.map((result) => result.after ?? null)),
      errors: good.reduce((sum, result) => sum + (result.errors ?? 0), 0),
      failedRounds: list.length - good.length,
      rounds: list.length,
      perRound: perRound[name],
      ratios: Object.fromEntries(scenario.baselines.filter((base) => perRound[base]).map((base) => [base, pairedRatio(perRound[name], perRound[base])])),
    };
  }
  return rows;
}

const fixed = (value, digits) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));
const integer = (value) => (value === null || value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US'));

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function throughputTable(scenario, rows, failures) {
  const baselines = scenario.baselines.filter((base) => rows[base]);
  const unit = scenario.tool === 'ws' ? 'msg/s' : 'req/s';
  const perUnit = scenario.tool === 'ws' ? 'msg' : 'req';
  const header = ['contender', unit, ...baselines.map((base) => `vs ${base}`), 'p50 ms', 'p99 ms', `CPU us/${perUnit}`, `master CPU us/${perUnit}`, 'errors', 'rounds'];
  const body = Object.entries(rows).map(([name, row]) => [
    name,
    integer(row.metric),
    ...baselines.map((base) => fixed(row.ratios[base], 2)),
    fixed(row.p50, 2),
    fixed(row.p99, 2),
    fixed(row.cpuTotalUs, 1),
    fixed(row.cpuRootUs, 1),
    String(row.errors),
    row.failedRounds > 0 ? `${row.rounds - row.failedRounds}/${row.rounds}` : String(row.rounds),
  ]);
  for (const [name, reason] of Object.entries(failures)) body.push([name, reason, ...baselines.map(() => ''), '', '', '', '', '', '0']);
  return table(header, body);
}

function idleTable(scenario, rows, failures, settings) {
  const baselines = scenario.baselines.filter((base) => rows[base]);
  const header = ['contender', 'KiB per connection', ...baselines.map((base) => `vs ${base}`), 'RSS before MiB', `RSS with ${settings.idleConnections} MiB`, 'errors', 'rounds'];
  const body = Object.entries(rows).map(([name, row]) => [
    name,
    fixed(row.metric, 2),
    ...baselines.map((base) => fixed(row.ratios[base], 2)),
    fixed(row.before / 2 ** 20, 1),
    fixed(row.after / 2 ** 20, 1),
    String(row.errors),
    String(row.rounds),
  ]);
  for (const [name, reason] of Object.entries(failures)) body.push([name, reason, ...baselines.map(() => ''), '', '', '', '0']);
  return table(header, body);
}

function reloadTable(outcome) {
  const steady = outcome.rounds.steady;
  const loaded = outcome.rounds.reloading;
  const rps = (list) => median(list.filter(ok).map((result) => result.rps));
  const header = ['phase', 'req/s', 'vs steady', 'p50 ms', 'p99 ms', 'errors', 'reloads completed'];
  const row = (name, list, ratio) => [
    name,
    integer(rps(list)),
    ratio,
    fixed(median(list.filter(ok).map((result) => result.p50)), 2),
    fixed(median(list.filter(ok).map((result) => result.p99)), 2),
    String(list.filter(ok).reduce((sum, result) => sum + result.errors, 0)),
    name === 'steady' ? '' : `${list.reduce((sum, result) => sum + (result.completed ?? 0), 0)}/${list.reduce((sum, result) => sum + (result.reloads ?? 0), 0)}`,
  ];
  const ratio = pairedRatio(loaded.map((result) => (ok(result) ? result.rps : null)), steady.map((result) => (ok(result) ? result.rps : null)));
  return table(header, [row('steady', steady, '1.00'), row('reload every 5 s', loaded, fixed(ratio, 2))]);
}

/** Renders the whole report: one table per scenario, then the headline ratios. */
export function renderReport(results, settings) {
  const parts = [];
  const headline = [];
  for (const { scenario, outcome } of results) {
    parts.push(`### ${scenario.name}: ${scenario.title}`);
    if (outcome.unavailable) {
      parts.push(`not available: ${outcome.unavailable}`);
      headline.push([scenario.name, 'not available', '']);
      continue;
    }
    if (scenario.kind === 'reload') {
      parts.push(reloadTable(outcome));
      const errors = outcome.rounds.reloading.filter(ok).reduce((sum, result) => sum + result.errors, 0);
      const ratio = pairedRatio(outcome.rounds.reloading.map((r) => (ok(r) ? r.rps : null)), outcome.rounds.steady.map((r) => (ok(r) ? r.rps : null)));
      headline.push([scenario.name, `${fixed(ratio, 2)} of steady throughput, ${errors} errors`, 'reloading / steady']);
      continue;
    }
    const rows = summarize(scenario, outcome);
    parts.push(scenario.kind === 'idle' ? idleTable(scenario, rows, outcome.failures, settings) : throughputTable(scenario, rows, outcome.failures));
    // The contender a scenario is about: aerys-cluster, unless the scenario names a variant of it.
    const subject = scenario.subject ?? 'aerys-cluster';
    const measured = rows[subject];
    for (const base of scenario.baselines) {
      if (!measured || !rows[base]) continue;
      const perRound = measured.perRound.map((value, i) => (value === null || !rows[base].perRound[i] ? 'n/a' : (value / rows[base].perRound[i]).toFixed(2)));
      headline.push([scenario.name, `${subject} / ${base}: ${fixed(measured.ratios[base], 2)}`, perRound.join(' ')]);
    }
  }
  const summary = table(['scenario', 'median ratio', 'per round'], headline);
  return `${parts.join('\n\n')}\n\n### Headline ratios (idle: memory per connection, lower is better; others: throughput, higher is better)\n\n${summary}\n`;
}
