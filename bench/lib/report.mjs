// `npm run bench -- --docs`: writes this run's results into docs/performance.md (between the
// bench markers, so the prose around them stays) and draws docs/performance.svg, a bar chart of
// requests/s per target. Nothing here is drawn by hand: the numbers are the run's.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';
const tesseraIds = new Set(['relayproxy', 'tsqlite', 'tredis', 'tredis2', 'tnode', 'texpress']);

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Markdown for the run: machine, settings, one table per section, the goals. */
export function resultsMarkdown({ machine, settings, sections, results, logins = [], goals, notes, columns, date = new Date() }) {
  const lines = [];
  lines.push(`One run of \`npm run bench -- --docs\` on ${date.toISOString().slice(0, 10)}: ${settings.tool} with ${settings.connections} connections, ${settings.rounds} rounds × ${settings.seconds} s per target after a ${settings.warmup} s warm-up, medians of the rounds${settings.pinned ? `, servers on CPU ${settings.pinned.servers} and the load generator on CPU ${settings.pinned.load}` : ''}.`);
  lines.push('');
  lines.push(`**Machine:** ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Redis ${machine.redis ?? 'unknown'}. Load generator, servers and Redis share the cores.`);
  lines.push('');
  lines.push('![requests per second per target](performance.svg)');
  lines.push('');
  for (const [title, groups] of sections) {
    const rows = results.filter((r) => groups.includes(r.group));
    if (rows.length === 0) continue;
    const cols = columns.filter((c) => c.title !== 'vs nginx' || rows.some((r) => r.vsNginx !== undefined));
    lines.push(`### ${title}`, '');
    lines.push(`| ${cols.map((c) => c.title).join(' | ')} |`);
    lines.push(`|${cols.map((c) => (c.left ? '---' : '---:')).join('|')}|`);
    for (const r of rows) lines.push(`| ${cols.map((c) => (c.left && tesseraIds.has(r.id) ? `**${c.value(r)}**` : c.value(r))).join(' | ')} |`);
    lines.push('');
  }
  if (logins.length) {
    lines.push(`### Logins: ${logins[0].count} browsers signing in at once`, '');
    lines.push('| relying party | logins/s | CPU ms per login (its own process) | errors |', '|---|---:|---:|---:|');
    for (const l of logins) lines.push(`| ${tesseraIds.has(l.id) ? `**${l.name}**` : l.name} | ${fmt(l.loginsPerSecond, 1)} | ${fmt(l.cpuMsPerLogin, 2)} | ${l.errors} |`);
    lines.push('');
  }
  lines.push('### Goals', '');
  lines.push('| goal | measured | |', '|---|---|---|');
  for (const g of goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'met' : '**missed**'} |`);
  lines.push('');
  for (const note of notes) lines.push(`*Note:* ${note}`, '');
  return lines.join('\n');
}

/** A horizontal bar chart of requests/s, one bar per target, grouped by section. */
export function barChart({ sections, results, title = 'Requests per second (higher is better)' }) {
  const rowHeight = 24;
  const labelWidth = 330;
  const barWidth = 380;
  const width = labelWidth + barWidth + 90;
  const rows = [];
  for (const [sectionTitle, groups] of sections) {
    const members = results.filter((r) => groups.includes(r.group) && Number.isFinite(r.rps));
    if (members.length === 0) continue;
    rows.push({ heading: sectionTitle });
    for (const r of members) rows.push({ result: r });
  }
  const max = Math.max(1, ...results.filter((r) => Number.isFinite(r.rps)).map((r) => r.rps));
  const height = 40 + rows.length * rowHeight + 10;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`);
  rows.forEach((row, i) => {
    const y = 40 + i * rowHeight;
    if (row.heading) {
      out.push(`<text x="10" y="${y + 16}" font-weight="bold" fill="#333333">${escape(row.heading)}</text>`);
      return;
    }
    const r = row.result;
    const w = Math.max(1, Math.round((r.rps / max) * barWidth));
    const fill = tesseraIds.has(r.id) ? '#2f6fdf' : '#9aa5b1';
    out.push(`<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escape(r.name)}</text>`);
    out.push(`<rect x="${labelWidth}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" fill="${fill}"/>`);
    out.push(`<text x="${labelWidth + w + 6}" y="${y + 16}">${escape(fmt(r.rps))}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes docs/performance.svg and the results block of docs/performance.md; returns the paths. */
export function writeResults({ docsDir, ...run }) {
  const svgPath = join(docsDir, 'performance.svg');
  writeFileSync(svgPath, barChart(run));
  const mdPath = join(docsDir, 'performance.md');
  const doc = readFileSync(mdPath, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${mdPath} has no ${START} … ${END} block to fill`);
  writeFileSync(mdPath, `${doc.slice(0, start + START.length)}\n${resultsMarkdown(run)}\n${doc.slice(end)}`);
  return [mdPath, svgPath];
}
