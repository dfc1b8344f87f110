// Listings as a service (docs/exchange.md): a seller's data steward writes a listing and submits it, the exchange
// reviews and approves it, either may suspend or delist it. Every revision of the content is kept with its hash; every
// step is stored with who took it and audited. Approval anchors the listed revision's hash and its consent basis root
// as a revision of the package in the package registry, beside the latest valuation's report hash.
import { randomUUID } from 'node:crypto';
import { canonicalHash } from '../consent/canonical.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import { ListingContent, nextListingState, revisedState, type ListingState, type ListingStep } from './listing.ts';
import type { ConsentBasisCheck } from './consent-basis-store.ts';
import type { ListingHistoryEntry, ListingRevision, ListingRow, ListingStore } from './listing-store.ts';
import { anchorPackageRevision, hex0x, ZERO_HASH, type PackageLedger } from './package-anchor.ts';
import { gatewayIdToBytes32 } from '../contracts/ledger-values.ts';

export type ListingActor = { id: string; role: string };

export type ListingView = ListingRow & {
  content: ListingContent;
  contentHash: string;
  /** After an approval: why its anchor is missing (the error code), or null. */
  anchorError?: string | null;
  /** The basis check that flags the current revision (its basis shrank past the package's threshold), or null. */
  basisFlag: ConsentBasisCheck | null;
};

/** What a buyer may filter listings by; every filter applies to the current revision. */
export type ListingFilters = {
  dimension?: string | undefined;
  purpose?: string | undefined;
  exclusivity?: 'exclusive' | 'non-exclusive' | undefined;
  territory?: string | undefined;
  maxPrice?: number | undefined;
  minSubjects?: number | undefined;
};

export type Listings = {
  /** A new draft, revision 1. BAD_INPUT for malformed content. */
  create(content: unknown, actor: ListingActor): Promise<ListingView>;
  /** A new revision of a draft or suspended listing (a suspended one returns to draft). CONFLICT otherwise. */
  revise(listingId: string, content: unknown, actor: ListingActor): Promise<ListingView>;
  /** A lifecycle step (listing.ts LISTING_STEPS). FORBIDDEN for the wrong role, CONFLICT from the wrong state. */
  step(listingId: string, step: ListingStep, actor: ListingActor, reason: string | null): Promise<ListingView>;
  /** NOT_FOUND for an unknown listing, and for one a buyer may not see (anything but listed). */
  get(listingId: string, viewerRole: string): Promise<ListingView>;
  /** A page of listings, oldest first, after a cursor; a buyer sees listed ones only. */
  list(
    query: { states?: readonly ListingState[]; after: string | null; limit: number; filters: ListingFilters },
    viewerRole: string,
  ): Promise<{ listings: ListingView[]; next: string | null }>;
  revisions(listingId: string, viewerRole: string): Promise<ListingRevision[]>;
  /** The anchored revision's content hashed again and compared with the package registry's current revision. */
  check(listingId: string, viewerRole: string): Promise<ListingCheck>;
  history(listingId: string, viewerRole: string): Promise<ListingHistoryEntry[]>;
};

export type ListingCheck = {
  listingId: string;
  /** The revision the chain was given (null: never anchored). */
  anchoredRevision: number | null;
  /** That revision's stored content still hashes to its recorded hash. */
  isIntact: boolean | null;
  /** The registry's current revision of the package carries that hash and the content's consent root. */
  isCurrentOnChain: boolean | null;
  detail: string;
};

export type ListingsOptions = {
  partyId: string;
  store: ListingStore;
  clock: Clock;
  ledger: () => PackageLedger | null;
  /**
   * Throws CONFLICT when the content's consent basis is not the package's as computed now (consent-bases.ts
   * verifyStated); called before an approval anchors it.
   */
  verifyBasis(content: ListingContent): Promise<void>;
  /** The check that flags a listing revision (consent-bases.ts flagOf), or null. */
  basisFlag(listingId: string, revision: number): Promise<ConsentBasisCheck | null>;
  /** The hash of the package's latest valuation report here, or null when it was never valued. */
  latestReportHash: (packageId: string) => Promise<string | null>;
  audit(entry: {
    actor: string;
    action: string;
    refs: string[];
    detail: Record<string, string | number | null>;
  }): Promise<void>;
};

/** Roles that see listings in every state; every other reader (a buyer) sees listed ones only. */
const SELLER_SIDE: ReadonlySet<string> = new Set(['data-steward', 'exchange', 'compliance-officer', 'admin']);
const ALL_STATES: readonly ListingState[] = ['draft', 'in-review', 'listed', 'suspended', 'delisted'];
/** How many listings a filtered page reads at most to fill itself: a bound on one request's work. */
const SCAN_LIMIT = 2_000;

const parseContent = (raw: unknown): ListingContent => parseRequest(ListingContent, raw, 'a listing');

export function matchesFilters(content: ListingContent, f: ListingFilters): boolean {
  return (
    (f.dimension === undefined || content.dimensions.some((d) => d.id === f.dimension)) &&
    (f.purpose === undefined || content.consentBasis.purposes.includes(f.purpose)) &&
    (f.exclusivity === undefined || content.licence.exclusivity === f.exclusivity) &&
    (f.territory === undefined || content.licence.territory.includes(f.territory)) &&
    (f.maxPrice === undefined || content.indicativePrice.amount <= f.maxPrice) &&
    (f.minSubjects === undefined || content.coverage.subjects >= f.minSubjects)
  );
}

export function createListings(options: ListingsOptions): Listings {
  const { store, clock } = options;

  const viewOf = async (row: ListingRow): Promise<ListingView> => {
    const current = await store.revision(row.listingId, row.revision);
    if (current === null)
      throw new GatewayError('INTEGRITY_VIOLATION', 'a listing has lost its current revision', {
        listingId: row.listingId,
      });
    return {
      ...row,
      content: ListingContent.parse(current.content),
      contentHash: current.contentHash,
      basisFlag: await options.basisFlag(row.listingId, row.revision),
    };
  };

  /** The listing as just written: it exists, this call having written it. */
  const stored = async (listingId: string): Promise<ListingView> => viewOf((await store.get(listingId)) as ListingRow);

  const visible = async (listingId: string, viewerRole: string): Promise<ListingRow> => {
    const row = await store.get(listingId);
    if (row === null || (!SELLER_SIDE.has(viewerRole) && row.state !== 'listed'))
      throw new GatewayError('NOT_FOUND', 'no such listing', { listingId });
    return row;
  };

  const audit = (actor: ListingActor, action: string, view: ListingView, extra: Record<string, string | null> = {}) =>
    options.audit({
      actor: actor.id,
      action,
      refs: [view.listingId],
      detail: {
        packageId: view.packageId,
        registrationNo: view.registrationNo,
        revision: view.revision,
        contentHash: view.contentHash,
        state: view.state,
        ...extra,
      },
    });

  /** Anchors the listed revision; the listing stays listed either way, and the answer says why an anchor is missing. */
  const anchor = async (view: ListingView): Promise<string | null> => {
    try {
      const anchored = await anchorPackageRevision(options.ledger(), {
        packageId: view.packageId,
        listingHash: hex0x(view.contentHash),
        valuationReportHash: ((hash) => (hash === null ? ZERO_HASH : hex0x(hash)))(
          await options.latestReportHash(view.packageId),
        ),
        consentBasisRoot: view.content.consentBasis.root,
      });
      await store.setAnchor(view.listingId, { ...anchored, listingRevision: view.revision });
      return null;
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      return error.code;
    }
  };

  return {
    async create(raw, actor) {
      if (actor.role !== 'data-steward')
        throw new GatewayError('FORBIDDEN', `a ${actor.role} may not create a listing`, {
          allowedRoles: ['data-steward'],
        });
      const content = parseContent(raw);
      const listingId = randomUUID();
      const createdAt = clock.now().toISOString();
      const registrationNo = `SG-${options.partyId}-${createdAt.slice(0, 10).replaceAll('-', '')}-${listingId.slice(0, 8)}`;
      await store.insert(
        { listingId, registrationNo, packageId: content.packageId, createdAt },
        { content, contentHash: canonicalHash(content), actor: actor.id, role: actor.role },
      );
      const view = await stored(listingId);
      await audit(actor, 'listing-create', view);
      return view;
    },
    async revise(listingId, raw, actor) {
      if (actor.role !== 'data-steward')
        throw new GatewayError('FORBIDDEN', `a ${actor.role} may not revise a listing`, {
          allowedRoles: ['data-steward'],
        });
      const row = await visible(listingId, actor.role);
      const content = parseContent(raw);
      if (content.packageId !== row.packageId)
        throw new GatewayError('BAD_INPUT', `the listing is of package ${row.packageId}`, { packageId: row.packageId });
      await store.change({
        listingId,
        expectedState: row.state,
        state: revisedState(row.state),
        revision: { content, contentHash: canonicalHash(content) },
        step: 'revise',
        actor: actor.id,
        role: actor.role,
        at: clock.now().toISOString(),
        reason: null,
      });
      const view = await stored(listingId);
      await audit(actor, 'listing-revise', view);
      return view;
    },
    async step(listingId, step, actor, reason) {
      const row = await visible(listingId, actor.role);
      const state = nextListingState(row.state, step, actor.role);
      // What the chain will carry is checked first: a basis the gateway cannot compute again is not anchored.
      if (step === 'approve') await options.verifyBasis((await viewOf(row)).content);
      await store.change({
        listingId,
        expectedState: row.state,
        state,
        step,
        actor: actor.id,
        role: actor.role,
        at: clock.now().toISOString(),
        reason,
      });
      const view = await stored(listingId);
      await audit(actor, `listing-${step}`, view, { from: row.state, reason });
      if (step !== 'approve') return view;
      const anchorError = await anchor(view);
      return { ...(await stored(listingId)), anchorError };
    },
    get: async (listingId, viewerRole) => viewOf(await visible(listingId, viewerRole)),
    async list(query, viewerRole) {
      const states = SELLER_SIDE.has(viewerRole) ? (query.states ?? ALL_STATES) : ['listed' as const];
      const listings: ListingView[] = [];
      let after = query.after;
      let scanned = 0;
      // Read in pages until the page is full, the listings run out or the scan bound is reached; the cursor is the
      // last listing read, so the next page resumes after it whether or not it matched.
      while (listings.length < query.limit && scanned < SCAN_LIMIT) {
        const rows = await store.list({ states, after, limit: Math.min(200, SCAN_LIMIT - scanned) });
        if (rows.length === 0) return { listings, next: null };
        for (const row of rows) {
          scanned++;
          after = row.listingId;
          const view = await viewOf(row);
          if (matchesFilters(view.content, query.filters)) listings.push(view);
          if (listings.length === query.limit) break;
        }
      }
      return { listings, next: after };
    },
    async check(listingId, viewerRole) {
      const row = await visible(listingId, viewerRole);
      const none = { listingId, anchoredRevision: null, isIntact: null, isCurrentOnChain: null };
      if (row.anchor === null)
        return { ...none, detail: 'the listing was never anchored (not approved, or the ledger was off)' };
      const anchored = await store.revision(listingId, row.anchor.listingRevision);
      if (anchored === null)
        throw new GatewayError('INTEGRITY_VIOLATION', 'an anchored revision is gone', { listingId });
      // The content as stored now, hashed again: what a changed byte would change.
      const hash = canonicalHash(anchored.content);
      const base = { listingId, anchoredRevision: anchored.revision, isIntact: hash === anchored.contentHash };
      const ledger = options.ledger();
      if (ledger === null)
        return { ...base, isCurrentOnChain: null, detail: 'the ledger is off: nothing to compare with' };
      const onChain = await ledger.client.getPackage(gatewayIdToBytes32(row.packageId));
      const root = (anchored.content as { consentBasis?: { root?: unknown } }).consentBasis?.root;
      const isCurrentOnChain =
        onChain !== null && onChain.listingHash === hex0x(hash) && onChain.consentBasisRoot === root;
      const flag = isCurrentOnChain ? null : await options.basisFlag(listingId, row.revision);
      return {
        ...base,
        isCurrentOnChain,
        detail: isCurrentOnChain
          ? `revision ${onChain.revision} of package ${row.packageId} carries this listing's hash and consent root`
          : onChain === null
            ? 'the package is not in the registry'
            : `revision ${onChain.revision} carries another listing hash or consent root` +
              (flag === null ? '' : ': the listing is flagged, its basis shrank and the package was valued again'),
      };
    },
    revisions: async (listingId, viewerRole) => {
      await visible(listingId, viewerRole);
      return store.revisions(listingId);
    },
    history: async (listingId, viewerRole) => {
      await visible(listingId, viewerRole);
      return store.history(listingId);
    },
  };
}
