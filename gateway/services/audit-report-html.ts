// Renders the compliance audit report as one self-contained HTML page (no scripts, no external
// assets) that an officer can open, print or archive. Every value is escaped: the report quotes
// stored data, and stored data is never trusted as markup.
import { escapeHtml } from './escape-html.ts';
import type { AuditReport } from './audit-report.ts';

const short = (hex: string | null | undefined) => (hex ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : '—');

const cell = (value: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(value)}</td>`;

export function renderAuditReportHtml(report: AuditReport): string {
  const v = report.verification;
  const verdict = v.ok
    ? `<p class="ok">Both chains verify: ${escapeHtml(v.events)} consent events, ${escapeHtml(v.audit)} audit entries.</p>`
    : `<p class="bad">Chain <b>${escapeHtml(v.chain)}</b> is broken at seq <b>${escapeHtml(v.seq)}</b> (${escapeHtml(v.reason)}), record ${escapeHtml(v.id)}.</p>`;
  const a = report.anchoring;
  const batches = report.batches
    .map(
      (b) =>
        `<tr>${cell(b.batchNo)}${cell(`${b.eventsFrom}–${b.eventsTo}`)}${cell(`${b.auditFrom}–${b.auditTo}`)}${cell(b.count)}${cell(short(b.root), 'mono')}${cell(b.status, b.status === 'anchored' ? 'ok' : 'warn')}${cell(short(b.txHash), 'mono')}${cell(b.blockNumber ?? '—')}${cell(b.blockTime === null ? '—' : new Date(b.blockTime * 1000).toISOString())}</tr>`,
    )
    .join('\n');
  const subject =
    report.subjectChain === null
      ? ''
      : `
<h2>Authorization chain of subject <span class="mono">${escapeHtml(report.subjectChain.subject)}</span></h2>
<p>${escapeHtml(report.subjectChain.summary.links)} links: ${escapeHtml(report.subjectChain.summary.anchored)} anchored, ${escapeHtml(report.subjectChain.summary.pending)} pending, <b>${escapeHtml(report.subjectChain.summary.broken)} broken</b>.</p>
<table><thead><tr><th>at</th><th>link</th><th>type</th><th>record</th><th>chain #</th><th>anchor</th><th>verifies</th><th>first failed check</th></tr></thead><tbody>
${report.subjectChain.links.map((l) => `<tr>${cell(l.at)}${cell(l.kind)}${cell(l.type)}${cell(l.recordId, 'mono')}${cell(`${l.chain} #${l.seq}`)}${cell(l.anchor, l.anchor === 'anchored' ? 'ok' : 'warn')}${cell(l.isVerified ? 'yes' : 'no', l.isVerified ? 'ok' : l.failedCheck === 'not-anchored' ? 'warn' : 'bad')}${cell(l.failedCheck === null ? '' : `${l.failedCheck}: ${l.detail ?? ''}`)}</tr>`).join('\n')}
</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sealgate audit report — ${escapeHtml(report.gateway.partyId)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
.mono{font-family:ui-monospace,monospace;font-size:12px}.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e;font-weight:600}
</style></head><body>
<h1>sealgate audit report</h1>
<table>
<tr><th>gateway</th><td>${escapeHtml(report.gateway.partyId)}</td></tr>
<tr><th>Ed25519 key</th><td class="mono">${escapeHtml(report.gateway.publicKey)} (key id ${escapeHtml(report.gateway.keyId)})</td></tr>
<tr><th>EVM account</th><td class="mono">${escapeHtml(report.gateway.evmAddress)}</td></tr>
<tr><th>ledger</th><td>${escapeHtml(report.ledger.mode)}${report.ledger.chainId === null ? '' : `, chain ${escapeHtml(report.ledger.chainId)}, anchor contract <span class="mono">${escapeHtml(report.ledger.anchorContract)}</span>`}</td></tr>
<tr><th>generated</th><td>${escapeHtml(report.generatedAt)}</td></tr>
</table>
<h2>Chain verification (recomputed from stored rows)</h2>
${verdict}
<h2>Anchoring</h2>
<p>State <b class="${a.state === 'ok' ? 'ok' : 'warn'}">${escapeHtml(a.state)}</b>${a.reason ? ` (${escapeHtml(a.reason)})` : ''}; ${escapeHtml(a.pendingRecords)} records not yet anchored.</p>
<table><thead><tr><th>batch</th><th>events</th><th>audit</th><th>records</th><th>root</th><th>status</th><th>tx</th><th>block</th><th>block time</th></tr></thead><tbody>
${batches || '<tr><td colspan="9">no batches yet</td></tr>'}
</tbody></table>${subject}
<p>Each receipt in the JSON form of this report can be checked without this gateway: <code>npm run verify -- receipt.json --rpc URL</code>.</p>
</body></html>
`;
}
