// Package sources and consent bases as a service (docs/exchange.md, "Consent basis"). The data steward binds a package
// to the view its rows live in; the basis of the package for some purposes is then computed from the view's subjects
// and the consent records in force. A listing's basis is checked again on request and whenever a delivery starts:
// when more of the listed subjects have gone than the package's threshold allows, the listing is flagged (buyers see
// the flag on the listing and on their orders), and the package is valued again on what remains.
import type { ConsentLog } from '../consent/consent-log.ts';
import type { Connectors } from '../connectors/connectors.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import { ValuationInput } from '../valuation/valuation-input.ts';
import { basisShrink, consentBasisOf, type ConsentBasisSummary } from './consent-basis.ts';
import type { ConsentBasisCheck, ConsentBasisStore } from './consent-basis-store.ts';
import type { Listings, ListingView } from './listings.ts';
import { PackageSourceInput, type PackageSource } from './package-source.ts';
import type { PackageSourceStore } from './package-source-store.ts';
import { revaluedInput } from './revaluation.ts';
import type { Valuations } from './valuations.ts';

export type ConsentBases = {
  /** Binds a package to a view and its fields. NOT_FOUND for an unknown view, BAD_INPUT for a field it lacks. */
  bindSource(packageId: string, input: unknown, actor: string): Promise<PackageSource>;
  /** NOT_FOUND when the package was never bound. */
  source(packageId: string): Promise<PackageSource>;
  /** The package's basis now, for these purposes. */
  compute(packageId: string, purposes: readonly string[]): Promise<ConsentBasisSummary>;
  /** The listing's basis computed again and compared with its current revision's; flags and revalues past the line. */
  check(listingId: string, trigger: string, actor: { id: string; role: string }): Promise<ConsentBasisCheck>;
  /**
   * Resolves when `stated` is the package's basis now for its purposes, or the package has no source (its basis cannot
   * be computed here: the listing says so by having none to deliver from). CONFLICT with the computed basis otherwise.
   */
  verifyStated(packageId: string, stated: ConsentBasisSummary & { purposes: readonly string[] }): Promise<void>;
  /** A listing's checks, newest first (visible as the listing is). */
  history(listingId: string, viewerRole: string, limit: number): Promise<ConsentBasisCheck[]>;
  /** The check that flags the listing's current revision, or null. */
  flagOf(listingId: string, revision: number): Promise<ConsentBasisCheck | null>;
};

export type ConsentBasesOptions = {
  sources: PackageSourceStore;
  checks: ConsentBasisStore;
  listings: Pick<Listings, 'get'>;
  connectors: Pick<Connectors, 'views' | 'reader'>;
  consent: Pick<ConsentLog, 'coveringRecords'>;
  valuations: Pick<Valuations, 'list' | 'get' | 'create'>;
  clock: Clock;
  audit(entry: {
    actor: string;
    action: string;
    refs: string[];
    detail: Record<string, string | number | boolean | null>;
  }): Promise<void>;
};

/** The audit actor of the valuations a shrinking basis computes. */
export const REVALUATION_ACTOR = 'system:consent-basis';
const SUBJECT_CHUNK = 10_000;

export function createConsentBases(options: ConsentBasesOptions): ConsentBases {
  const { sources, checks, clock } = options;

  const source = async (packageId: string): Promise<PackageSource> => {
    const found = await sources.get(packageId);
    if (found === null)
      throw new GatewayError('NOT_FOUND', `package ${packageId} has no source: bind it to a view first`, {
        packageId,
      });
    return found;
  };

  const compute = async (packageId: string, purposes: readonly string[]): Promise<ConsentBasisSummary> => {
    const { view } = await source(packageId);
    const at = clock.now();
    const records = [];
    for await (const subjects of options.connectors.reader.streamSubjects(view, SUBJECT_CHUNK))
      records.push(...(await options.consent.coveringRecords(subjects, purposes, at)));
    return consentBasisOf(records);
  };

  /** A valuation of the package on `basis`, from its latest one; null when it was never valued. */
  const revalue = async (packageId: string, basis: ConsentBasisSummary): Promise<string | null> => {
    const [latest] = await options.valuations.list(packageId, 1);
    if (latest === undefined) return null;
    const input = ValuationInput.parse((await options.valuations.get(latest.valuationId)).input);
    const before = input.package.consentBasis.subjects;
    const remaining = before === 0 ? 1 : basis.subjects / before;
    const created = await options.valuations.create(revaluedInput(input, basis, remaining), REVALUATION_ACTOR);
    return created.valuationId;
  };

  const latestFlag = async (listing: Pick<ListingView, 'listingId' | 'revision'>) => {
    const [last] = await checks.history(listing.listingId, 1);
    return last !== undefined && last.flagged && last.listingRevision === listing.revision ? last : null;
  };

  return {
    async bindSource(packageId, raw, actor) {
      const input = parseRequest(PackageSourceInput, raw, 'a package source');
      const { declaration } = await options.connectors.views.get(input.view);
      const missing = input.fields.filter((f) => !declaration.columns.some((c) => c.name === f));
      if (missing.length > 0)
        throw new GatewayError('BAD_INPUT', `view ${input.view} has no column ${missing.join(', ')}`, {
          view: input.view,
          missing,
        });
      const bound = { packageId, ...input, updatedAt: clock.now().toISOString(), updatedBy: actor };
      await sources.put(bound);
      await options.audit({
        actor,
        action: 'package-source',
        refs: [packageId],
        detail: { view: bound.view, fields: bound.fields.join(','), shrinkThreshold: bound.shrinkThreshold },
      });
      return bound;
    },
    source,
    compute,
    async verifyStated(packageId, stated) {
      if ((await sources.get(packageId)) === null) return;
      const computed = await compute(packageId, stated.purposes);
      if (computed.root !== stated.root || computed.records !== stated.records || computed.subjects !== stated.subjects)
        throw new GatewayError('CONFLICT', "the listing's consent basis is not the package's as computed now", {
          stated: { root: stated.root, records: stated.records, subjects: stated.subjects },
          computed,
        });
    },
    async check(listingId, trigger, actor) {
      const listing = await options.listings.get(listingId, actor.role);
      if (listing.state === 'delisted')
        throw new GatewayError('CONFLICT', 'a delisted listing has no basis to check', { listingId });
      const { shrinkThreshold } = await source(listing.packageId);
      const listed = listing.content.consentBasis;
      const basis = await compute(listing.packageId, listed.purposes);
      const shrink = basisShrink(listed, basis);
      const flagged = shrink > shrinkThreshold;
      const previous = await latestFlag(listing);
      // Value again once per basis: a later check that finds the same records changes nothing.
      const valuationId =
        flagged && previous?.basis.root !== basis.root ? await revalue(listing.packageId, basis) : null;
      const check = await checks.append({
        listingId,
        checkedAt: clock.now().toISOString(),
        listingRevision: listing.revision,
        trigger,
        basis,
        listedSubjects: listed.subjects,
        shrink,
        threshold: shrinkThreshold,
        flagged,
        valuationId,
      });
      await options.audit({
        actor: actor.id,
        action: flagged && previous === null ? 'listing-flag' : 'listing-basis-check',
        refs: [listingId, ...(valuationId === null ? [] : [valuationId])],
        detail: {
          packageId: listing.packageId,
          revision: listing.revision,
          trigger,
          root: basis.root,
          records: basis.records,
          subjects: basis.subjects,
          listedSubjects: listed.subjects,
          shrink,
          flagged,
        },
      });
      return check;
    },
    async history(listingId, viewerRole, limit) {
      await options.listings.get(listingId, viewerRole);
      return checks.history(listingId, limit);
    },
    flagOf: (listingId, revision) => latestFlag({ listingId, revision }),
  };
}
