// The compliance console's pages as HTML (docs/console.md): server-rendered, semantic, every value escaped, no inline
// script or style (the Content-Security-Policy allows only the console's own files). Pure: routes pass what they read.
import type { AuthorizationChain } from '../../../consent/authorization-chain.ts';
import { escapeHtml as e } from '../../services/escape-html.ts';

export type PageUser = { role: string; csrf: string } | null;

export function layout(title: string, body: string, user: PageUser): string {
  const nav =
    user === null
      ? ''
      : `<nav aria-label="Console"><ul>
  <li><a href="/console">Overview</a></li>
  <li><a href="/console/subjects">Subjects</a></li>
</ul>
<form method="post" action="/console/sign-out"><input type="hidden" name="csrf" value="${e(user.csrf)}">
<button type="submit">Sign out</button></form></nav>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · sealgate console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<header><p class="brand">sealgate compliance console</p>${nav}</header>
<main id="main">
<h1>${e(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export function signInPage(csrf: string, problem: string | null): string {
  const alert = problem === null ? '' : `<p role="alert" class="problem">${e(problem)}</p>`;
  return layout(
    'Sign in',
    `${alert}
<form method="post" action="/console/sign-in">
<input type="hidden" name="csrf" value="${e(csrf)}">
<label for="token">Compliance officer token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
<p>The token is checked once; the console then keeps a session in a cookie that scripts cannot read.</p>`,
    null,
  );
}

export type Overview = {
  partyId: string;
  audit: { ok: boolean; detail: string };
  ledger: { readiness: string; anchoring: string; pendingRecords: number | null; lastBatch: string | null };
};

export function overviewPage(o: Overview, user: PageUser): string {
  const state = (ok: boolean) => (ok ? '<strong class="ok">verified</strong>' : '<strong class="bad">broken</strong>');
  return layout(
    `Gateway ${o.partyId}`,
    `<section aria-labelledby="audit"><h2 id="audit">Audit chain</h2>
<p>${state(o.audit.ok)}: ${e(o.audit.detail)}</p></section>
<section aria-labelledby="ledger"><h2 id="ledger">Ledger</h2>
<dl>
<dt>Health</dt><dd>${e(o.ledger.readiness)}</dd>
<dt>Anchoring</dt><dd>${e(o.ledger.anchoring)}</dd>
<dt>Records waiting for an anchor</dt><dd>${e(o.ledger.pendingRecords ?? 'unknown')}</dd>
<dt>Last anchored batch</dt><dd>${e(o.ledger.lastBatch ?? 'none yet')}</dd>
</dl></section>`,
    user,
  );
}

export function subjectSearchPage(user: PageUser, problem: string | null): string {
  const alert = problem === null ? '' : `<p role="alert" class="problem">${e(problem)}</p>`;
  return layout(
    'Find a subject',
    `${alert}
<form method="get" action="/console/subjects" id="subject-search">
<label for="pseudonym">Pseudonym</label>
<input id="pseudonym" name="pseudonym" placeholder="sp_…" autocomplete="off">
<label for="raw-id">Or the customer's own id</label>
<input id="raw-id" autocomplete="off" aria-describedby="raw-id-help">
<p id="raw-id-help">The id never leaves this browser: its SHA-256 is computed here and only the digest is sent.</p>
<input type="hidden" name="digest" id="digest">
<button type="submit">Find</button>
</form>`,
    user,
  );
}

export function subjectPage(chain: AuthorizationChain, user: PageUser): string {
  const rows = chain.links
    .map(
      (l) => `<tr>
<td><time datetime="${e(l.at)}">${e(l.at)}</time></td>
<td>${e(l.kind)}</td>
<td>${e(l.type)}</td>
<td><code>${e(l.recordId)}</code></td>
<td>${e(l.anchor)}${l.receipt.anchor === undefined ? '' : ` (block ${e(l.receipt.anchor.blockNumber)})`}</td>
<td>${l.isVerified ? '<span class="ok">verified</span>' : `<span class="bad">not verified: ${e(l.failedCheck)}</span>`}</td>
</tr>`,
    )
    .join('\n');
  const { summary } = chain;
  return layout(
    'Authorization chain',
    `<p>Subject <code>${e(chain.subject)}</code>: ${e(summary.links)} links, ${e(summary.anchored)} anchored,
${e(summary.pending)} pending, ${e(summary.broken)} broken.</p>
<p><a href="/console/subjects/${encodeURIComponent(chain.subject)}/proofs.json" download>Download the receipts and
proofs</a> (one file: <code>npm run verify -- FILE --rpc URL</code> checks every one against the chain).</p>
<table>
<caption>Grants, withdrawals, delegations and recorded uses, oldest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Event</th><th scope="col">Record</th>
<th scope="col">Anchor</th><th scope="col">Verification</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
    user,
  );
}
