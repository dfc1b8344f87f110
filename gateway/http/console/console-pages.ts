// The compliance console's pages as HTML (docs/console.md): server-rendered, semantic, every value escaped, no inline
// script or style (the Content-Security-Policy allows only the console's own files). Pure: routes pass what they read.
import type { AuthorizationChain } from '../../../consent/authorization-chain.ts';
import type { ConsentBasisCheck } from '../../../exchange/consent-basis-store.ts';
import type { SubjectUse } from '../../../exchange/delivery-store.ts';
import type { AnchorBatch } from '../../../consent/anchor-store.ts';
import type { ListingView } from '../../../exchange/listings.ts';
import type { JobView } from '../../../mpc/jobs/view.ts';
import { escapeHtml as e } from '../../services/escape-html.ts';

export type PageUser = { role: string; csrf: string } | null;

export function layout(title: string, body: string, user: PageUser): string {
  const nav =
    user === null
      ? ''
      : `<nav aria-label="Console"><ul>
  <li><a href="/console">Overview</a></li>
  <li><a href="/console/subjects">Subjects</a></li>
  <li><a href="/console/jobs">Jobs</a></li>
  <li><a href="/console/listings">Listings</a></li>
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
  /** The latest anchoring batches, newest first. */
  batches: readonly AnchorBatch[];
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
</dl>
<table><caption>Anchoring batches, newest first</caption>
<thead><tr><th scope="col">Batch</th><th scope="col">Records</th><th scope="col">Status</th><th scope="col">Block</th>
<th scope="col">Root</th><th scope="col">Anchored</th></tr></thead>
<tbody>${o.batches
      .map(
        (
          b,
        ) => `<tr><td>${e(b.batchNo)}</td><td>${e(b.count)}</td><td>${e(b.status)}</td><td>${e(b.blockNumber ?? '')}</td>
<td><code>${e(b.root.slice(0, 18))}…</code></td><td>${e(b.anchoredAt ?? '')}</td></tr>`,
      )
      .join('\n')}</tbody></table></section>`,
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

export function subjectPage(chain: AuthorizationChain, user: PageUser, uses: readonly SubjectUse[] = []): string {
  const useRows = uses
    .map(
      (u) => `<tr><td><time datetime="${e(u.createdAt)}">${e(u.createdAt)}</time></td><td>${e(u.algorithm)}</td>
<td><code>${e(u.deliveryId)}</code></td><td><code>${e(u.orderId)}</code></td>
<td><a href="/console/listings/${e(u.listingId)}">listing</a></td><td><code>${e(u.recordId)}</code></td><td>${e(u.state)}</td></tr>`,
    )
    .join('\n');
  const deliveries =
    uses.length === 0
      ? "<p>No compute-to-data delivery has read this subject's rows.</p>"
      : `<table><caption>Compute-to-data deliveries that read this subject's rows, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Algorithm</th><th scope="col">Delivery</th><th scope="col">Order</th>
<th scope="col">Listing</th><th scope="col">Consent relied on</th><th scope="col">State</th></tr></thead>
<tbody>${useRows}</tbody></table>`;
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
</table>
<section aria-labelledby="uses"><h2 id="uses">Sold uses</h2>${deliveries}</section>`,
    user,
  );
}

const subjectLink = (s: string) => `<a href="/console/subjects/${encodeURIComponent(s)}"><code>${e(s)}</code></a>`;

export function jobsPage(jobs: readonly JobView[], user: PageUser): string {
  const rows = jobs
    .map(
      (j) => `<tr><td><a href="/console/jobs/${e(j.id)}"><code>${e(j.id)}</code></a></td>
<td>${e(j.spec.protocol)}</td><td>${e(j.spec.purpose)}</td>
<td>${e(j.spec.parties.map((p) => p.id).join(', '))}</td><td>${e(j.status)}</td>
<td><time datetime="${e(j.createdAt)}">${e(j.createdAt)}</time></td></tr>`,
    )
    .join('\n');
  return layout(
    'Jobs',
    `<table><caption>Joint jobs at this gateway, newest first</caption>
<thead><tr><th scope="col">Job</th><th scope="col">Protocol</th><th scope="col">Purpose</th><th scope="col">Parties</th>
<th scope="col">Status</th><th scope="col">Created</th></tr></thead>
<tbody>${rows}</tbody></table>`,
    user,
  );
}

export type JobSubjects = {
  /** Whose consent the job relied on here: its intersection, or the intersection of the PSI job it ran on. */
  source: string;
  total: number | null;
  shown: readonly string[];
};

export function jobPage(job: JobView, subjects: JobSubjects | null, user: PageUser): string {
  const steps = job.timeline
    .map(
      (t) => `<tr><td>${e(t.step)}</td><td>${e(t.party)}</td><td>${e(t.attempt)}</td><td>${e(t.status)}</td>
<td>${e(t.durationMs === null ? '' : `${t.durationMs} ms`)}</td><td>${e(t.rows)}</td><td>${e(t.bytesOut)}</td>
<td>${e(t.errorCode ?? '')}</td></tr>`,
    )
    .join('\n');
  const relied =
    subjects === null
      ? '<p>This party holds no list of the subjects this job read.</p>'
      : `<p>${e(subjects.total ?? subjects.shown.length)} subjects (${e(subjects.source)}); their data is never shown here,
only their pseudonyms, each linking to its authorization chain${subjects.shown.length < (subjects.total ?? 0) ? `; the first ${e(subjects.shown.length)}` : ''}:</p>
<ul class="subjects">${subjects.shown.map((s) => `<li>${subjectLink(s)}</li>`).join('')}</ul>`;
  return layout(
    `Job ${job.id}`,
    `<dl><dt>Protocol</dt><dd>${e(job.spec.protocol)}</dd><dt>Purpose</dt><dd>${e(job.spec.purpose)}</dd>
<dt>Parties</dt><dd>${e(job.spec.parties.map((p) => `${p.id} (${p.role})`).join(', '))}</dd>
<dt>Status</dt><dd>${e(job.status)}${job.failure === null ? '' : `: ${e(job.failure.code)} ${e(job.failure.message)}`}</dd></dl>
<section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2>
<table><caption>Each party's attempt at each step</caption>
<thead><tr><th scope="col">Step</th><th scope="col">Party</th><th scope="col">Attempt</th><th scope="col">Status</th>
<th scope="col">Took</th><th scope="col">Rows</th><th scope="col">Bytes sent</th><th scope="col">Error</th></tr></thead>
<tbody>${steps}</tbody></table></section>
<section aria-labelledby="consents"><h2 id="consents">Whose consent it relied on</h2>${relied}</section>`,
    user,
  );
}

export function listingsPage(listings: readonly ListingView[], user: PageUser): string {
  const rows = listings
    .map(
      (l) => `<tr><td><a href="/console/listings/${e(l.listingId)}">${e(l.registrationNo)}</a></td>
<td>${e(l.content.title)}</td><td>${e(l.state)}</td>
<td>${e(l.content.consentBasis.subjects)} subjects, root <code>${e(l.content.consentBasis.root.slice(0, 18))}…</code></td>
<td>${l.basisFlag === null ? 'no' : '<strong class="bad">flagged</strong>'}</td></tr>`,
    )
    .join('\n');
  return layout(
    'Listings',
    `<table><caption>Data packages listed through this gateway</caption>
<thead><tr><th scope="col">Registration</th><th scope="col">Title</th><th scope="col">State</th>
<th scope="col">Consent basis (listed)</th><th scope="col">Flagged</th></tr></thead>
<tbody>${rows}</tbody></table>`,
    user,
  );
}

export function listingPage(listing: ListingView, checks: readonly ConsentBasisCheck[], user: PageUser): string {
  const basis = listing.content.consentBasis;
  const rows = checks
    .map(
      (c) => `<tr><td><time datetime="${e(c.checkedAt)}">${e(c.checkedAt)}</time></td><td>${e(c.trigger)}</td>
<td>${e(c.basis.subjects)}</td><td>${e(c.basis.records)}</td><td><code>${e(c.basis.root.slice(0, 18))}…</code></td>
<td>${e((c.shrink * 100).toFixed(2))} %</td><td>${c.flagged ? '<strong class="bad">flagged</strong>' : 'no'}</td>
<td>${e(c.valuationId ?? '')}</td></tr>`,
    )
    .join('\n');
  return layout(
    listing.content.title,
    `<dl><dt>Registration</dt><dd>${e(listing.registrationNo)}</dd><dt>State</dt><dd>${e(listing.state)}</dd>
<dt>Package</dt><dd>${e(listing.packageId)}</dd>
<dt>Listed consent basis</dt><dd>${e(basis.subjects)} subjects, ${e(basis.records)} records, root <code>${e(basis.root)}</code>,
for ${e(basis.purposes.join(', '))}</dd>
<dt>Anchor</dt><dd>${listing.anchor === null ? 'not anchored' : `revision ${e(listing.anchor.revision)} in block ${e(listing.anchor.blockNumber)}`}</dd></dl>
<section aria-labelledby="checks"><h2 id="checks">Its consent basis, checked again</h2>
<table><caption>Newest first; a check past the threshold flags the listing and values the package again</caption>
<thead><tr><th scope="col">When</th><th scope="col">Asked by</th><th scope="col">Subjects</th><th scope="col">Records</th>
<th scope="col">Root</th><th scope="col">Shrink</th><th scope="col">Flag</th><th scope="col">Valuation</th></tr></thead>
<tbody>${rows}</tbody></table></section>`,
    user,
  );
}
