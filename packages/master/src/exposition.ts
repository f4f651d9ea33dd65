// Writes metric families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.0, chosen
// from the scraper's Accept header. Prometheus 2.42 (the Debian 12 package) sends an Accept header
// that prefers OpenMetrics.
import type { MetricFamily, MetricSample } from '@aerys-cluster/shared';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** Picks OpenMetrics when the Accept header names it, the Prometheus text format otherwise. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
}

export function contentType(format: ExpositionFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
}

/** Serializes families; samples without `metricName` use the family name. */
export function writeExposition(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const family of families) {
    if (format === 'openmetrics') writeOpenMetricsFamily(lines, family);
    else writePrometheusFamily(lines, family);
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return lines.join('\n') + '\n';
}

function writePrometheusFamily(lines: string[], family: MetricFamily): void {
  lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
  lines.push(`# TYPE ${family.name} ${family.type}`);
  for (const sample of family.values) lines.push(formatSample(sample.metricName ?? family.name, sample));
}

/**
 * Writes one family as OpenMetrics. A counter family is named without its `_total` suffix, and
 * every counter sample carries the suffix. HELP escapes `"` as well, unlike format 0.0.4.
 */
function writeOpenMetricsFamily(lines: string[], family: MetricFamily): void {
  const isCounter = family.type === 'counter';
  const name = isCounter && family.name.endsWith('_total') ? family.name.slice(0, -'_total'.length) : family.name;
  lines.push(`# HELP ${name} ${escapeHelp(family.help).replace(/"/g, '\\"')}`);
  lines.push(`# TYPE ${name} ${family.type}`);
  for (const sample of family.values) {
    const sampleName = isCounter ? `${name}_total` : (sample.metricName ?? family.name);
    lines.push(formatSample(sampleName, sample));
  }
}

function formatSample(name: string, sample: MetricSample): string {
  const labels = Object.entries(sample.labels);
  if (labels.length === 0) return `${name} ${formatValue(sample.value)}`;
  const text = labels.map(([label, value]) => `${label}="${escapeLabelValue(String(value))}"`).join(',');
  return `${name}{${text}} ${formatValue(sample.value)}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
