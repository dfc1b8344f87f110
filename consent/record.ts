// The consent record: Kantara Consent Receipt v1.1, ISO/IEC TS 27560:2023 and W3C DPV terms, with the
// separate-consent rules of PIPL Arts. 23, 29 and 39 and GDPR Art. 7. The zod schemas are the types.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { consentTerms, deepFreeze } from './value-interner.ts';

/** Bumped when the record shape changes; stored in every record so old receipts stay readable. */
export const CONSENT_SCHEMA_VERSION = '1.0.0';

// Every string and array is bounded so hostile input costs at most a few kilobytes to parse and store.
const MAX_TEXT = 512;
const MAX_ITEMS = 64;
const MAX_FIELDS = 256;

/** A subject pseudonym: 'sp_' + base64url(HMAC-SHA256) (43 characters), never the raw identifier. */
export const Pseudonym = z.string().regex(/^sp_[A-Za-z0-9_-]{43}$/, 'expected a subject pseudonym sp_…');

/**
 * Lower-case UUID of version 1 to 8 (RFC 9562), as `randomUUID()` produces; one spelling per id keeps map lookups
 * exact. The nil and max UUIDs have no version and name no record, and the message says so.
 */
export const RecordId = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'expected a lower-case UUID of version 1 to 8 (RFC 9562), as record ids are; the nil UUID names no record',
  );

/** A party (gateway / organisation) id, as used in the partner registry. */
export const PartyId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected a party id');

/** A vocabulary term: a DPV CURIE ('dpv:Consent'), an IRI or a short id ('joint-modeling'). No spaces. */
export const TermId = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9][A-Za-z0-9:/#._~%-]*$/, 'expected a vocabulary term or IRI');

/** A data field name as connectors expose it (e.g. 'age', 'vehicle.model'). */
export const FieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/, 'expected a field name');

/** ISO 8601 / RFC 3339 date-time with an explicit offset; local times are ambiguous and rejected. */
export const Instant = z.iso.datetime({ offset: true });

/** The pattern alone, for hot paths where a zod parse would allocate a result per check. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
export const Sha256Hex = z.string().regex(SHA256_HEX, 'expected a lower-case hex SHA-256 digest');

/**
 * Precision a field may be released at: band:N (bucket width), truncate:N (keep N chars), round:N (decimals), exact.
 */
export const PrecisionRule = z
  .string()
  .regex(/^(band:\d+|truncate:\d+|round:-?\d+|exact)$/, 'expected band:N, truncate:N, round:N or exact');

export const ConsentStatus = z.enum(['Given', 'Refused', 'Withdrawn', 'Revoked', 'Expired', 'Renewed']);
export type ConsentStatus = z.infer<typeof ConsentStatus>;

/**
 * DPV entity roles (dpv:DataController, dpv:JointDataControllers, dpv:DataProcessor, dpv:Recipient, dpv:ThirdParty).
 */
export const RecipientRole = z.enum(['controller', 'joint-controller', 'processor', 'recipient', 'third-party']);

export const Recipient = z.object({ id: PartyId, role: RecipientRole }).strict();
export type Recipient = z.infer<typeof Recipient>;

export const Purpose = z
  .object({
    /** dpv:Purpose, e.g. 'dpv:ResearchAndDevelopment' or a sector id such as 'joint-modeling'. */
    purpose: TermId,
    /** dpv:LegalBasis, e.g. 'dpv:Consent' or 'dpv:ExplicitlyExpressedConsent'. */
    legalBasis: TermId,
  })
  .strict();
export type Purpose = z.infer<typeof Purpose>;

export const DataCategory = z.object({ category: TermId, sensitive: z.boolean() }).strict();
export type DataCategory = z.infer<typeof DataCategory>;

/** The minimization contract the subject accepted (GDPR Art. 5(1)(c), PIPL Art. 6). */
export const Minimization = z
  .object({
    fieldAllowlist: z.array(FieldName).max(MAX_FIELDS),
    precision: z
      .record(FieldName, PrecisionRule)
      .refine((p) => Object.keys(p).length <= MAX_FIELDS, 'too many precision rules'),
    localOnly: z.boolean(),
    crossBorder: z.boolean(),
  })
  .strict();
export type Minimization = z.infer<typeof Minimization>;

export const Notice = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(MAX_TEXT),
    hash: Sha256Hex,
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a notice version'),
  })
  .strict();
export type Notice = z.infer<typeof Notice>;

/** How consent was indicated (Kantara 'consentType', ISO 27560 'indication'). `by` is a role, never a name. */
export const Indication = z
  .object({
    method: z.enum(['web-form', 'app', 'paper', 'api', 'voice', 'in-person']),
    by: z.string().regex(/^[A-Za-z][A-Za-z0-9:_-]{0,63}$/, 'expected a role such as subject or guardian'),
    at: Instant,
  })
  .strict();
export type Indication = z.infer<typeof Indication>;

/** PIPL requires separate consent for sharing (Art. 23), sensitive data (Art. 29) and export (Art. 39). */
export const SeparateConsent = z
  .object({ sharing: z.boolean(), sensitive: z.boolean(), crossBorder: z.boolean() })
  .strict();
export type SeparateConsent = z.infer<typeof SeparateConsent>;

export const RecordSignature = z
  .object({
    alg: z.literal('Ed25519'),
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    /** Hex of the 64-byte Ed25519 signature. */
    value: z.string().regex(/^[0-9a-f]{128}$/),
  })
  .strict();
export type RecordSignature = z.infer<typeof RecordSignature>;

const Hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

/** Where the record's batch root was anchored on an EVM chain; filled in once its batch is anchored. */
export const Anchor = z
  .object({
    chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    root: Hex32,
    txHash: Hex32,
    proof: z.array(Hex32).max(MAX_ITEMS),
  })
  .strict();
export type Anchor = z.infer<typeof Anchor>;

// The consent terms both a stored record and a grant request carry.
const termShape = {
  jurisdiction: z.string().regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, 'expected an ISO 3166 code such as CN or EU'),
  recipients: z.array(Recipient).min(1).max(MAX_ITEMS),
  purposes: z.array(Purpose).min(1).max(MAX_ITEMS),
  dataCategories: z.array(DataCategory).min(1).max(MAX_ITEMS),
  minimization: Minimization,
  notice: Notice,
  indication: Indication,
  separateConsent: SeparateConsent,
};

type Terms = {
  recipients: Recipient[];
  purposes: Purpose[];
  dataCategories: DataCategory[];
  minimization: Minimization;
  separateConsent: SeparateConsent;
  notBefore?: string | undefined;
  expiresAt: string | null;
};

// Roles that make a recipient "another handler" under PIPL Art. 23 (processors act on our behalf).
const SHARING_ROLES: ReadonlySet<string> = new Set(['joint-controller', 'recipient', 'third-party']);

/** Cross-field rules: consent terms that contradict each other, or lack a required separate consent, are rejected. */
function checkTerms(t: Terms, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const duplicate = (values: string[]) => values.findIndex((v, i) => values.indexOf(v) !== i);
  const dupRecipient = duplicate(t.recipients.map((r) => r.id));
  if (dupRecipient >= 0) issue(['recipients', dupRecipient, 'id'], 'recipient listed twice');
  const dupPurpose = duplicate(t.purposes.map((p) => p.purpose));
  if (dupPurpose >= 0) issue(['purposes', dupPurpose, 'purpose'], 'purpose listed twice');
  const dupCategory = duplicate(t.dataCategories.map((c) => c.category));
  if (dupCategory >= 0) issue(['dataCategories', dupCategory, 'category'], 'data category listed twice');
  const allowed = new Set(t.minimization.fieldAllowlist);
  for (const field of Object.keys(t.minimization.precision)) {
    if (!allowed.has(field))
      issue(['minimization', 'precision', field], 'precision rule for a field outside fieldAllowlist');
  }
  if (t.minimization.localOnly && t.minimization.crossBorder)
    issue(['minimization', 'crossBorder'], 'localOnly contradicts crossBorder');
  if (t.minimization.crossBorder && !t.separateConsent.crossBorder)
    issue(['separateConsent', 'crossBorder'], 'cross-border transfer needs separate consent');
  if (t.dataCategories.some((c) => c.sensitive) && !t.separateConsent.sensitive)
    issue(['separateConsent', 'sensitive'], 'sensitive data needs separate consent');
  if (t.recipients.some((r) => SHARING_ROLES.has(r.role)) && !t.separateConsent.sharing)
    issue(['separateConsent', 'sharing'], 'sharing with another handler needs separate consent');
  if (t.expiresAt !== null && t.notBefore !== undefined && Date.parse(t.expiresAt) <= Date.parse(t.notBefore)) {
    issue(['expiresAt'], 'expiresAt must be after notBefore');
  }
}

const ConsentRecordShape = z
  .object({
    recordId: RecordId,
    schemaVersion: z.literal(CONSENT_SCHEMA_VERSION),
    subject: Pseudonym,
    controller: PartyId,
    ...termShape,
    /** Status when the record was written (always Given for a grant); the current status is derived from events. */
    status: ConsentStatus,
    notBefore: Instant,
    expiresAt: Instant.nullable(),
    supersedes: RecordId.nullable(),
    signatures: z.array(RecordSignature).max(8),
    anchor: Anchor.nullable(),
  })
  .strict();

export const ConsentRecord = ConsentRecordShape.superRefine(checkTerms);
export type ConsentRecord = z.infer<typeof ConsentRecord>;

// Records that passed ConsentRecord and were frozen. A record is validated once on its way in; the lifecycle,
// the sequencer's dry run and the projection then see the same object and skip a second full parse.
const validatedRecords = new WeakSet<object>();

/**
 * The record, deeply frozen, with the terms most records share held once by the process (the per-record parts,
 * such as indication and signatures, stay the record's own): a million records then cost a million small objects.
 */
function withSharedTerms(record: ConsentRecord): ConsentRecord {
  return deepFreeze({
    ...record,
    recipients: consentTerms.intern(record.recipients),
    purposes: consentTerms.intern(record.purposes),
    dataCategories: consentTerms.intern(record.dataCategories),
    minimization: consentTerms.intern(record.minimization),
    notice: consentTerms.intern(record.notice),
    separateConsent: consentTerms.intern(record.separateConsent),
  });
}

/** ConsentRecord.parse, returning a deeply frozen record; an object this function returned before is not re-parsed. */
export function parseConsentRecord(value: unknown): ConsentRecord {
  if (typeof value === 'object' && value !== null && validatedRecords.has(value)) return value as ConsentRecord;
  const record = withSharedTerms(ConsentRecord.parse(value));
  validatedRecords.add(record);
  return record;
}

/**
 * What a client sends to grant consent. Exactly one of `subjectId` (the raw id, pseudonymized at the edge and
 * never stored) or `subject` (an existing pseudonym). The gateway fills in recordId, controller, status,
 * signatures and anchor; notBefore defaults to now.
 */
export const ConsentGrantInput = z
  .object({
    subjectId: z.string().min(1).max(256).optional(),
    subject: Pseudonym.optional(),
    ...termShape,
    notBefore: Instant.optional(),
    expiresAt: Instant.nullable(),
    supersedes: RecordId.nullable().optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.subjectId === undefined) === (input.subject === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'give exactly one of subjectId or subject' });
    }
    checkTerms(input, ctx);
  });
export type ConsentGrantInput = z.infer<typeof ConsentGrantInput>;

/**
 * A renewal only moves expiresAt. The other fields may be echoed back but must equal the record's: a change of
 * purpose, data category, notice, recipients or minimization needs fresh consent (a grant that supersedes).
 */
export const RenewInput = z
  .object({
    expiresAt: Instant,
    purposes: termShape.purposes.optional(),
    dataCategories: termShape.dataCategories.optional(),
    notice: Notice.optional(),
    recipients: termShape.recipients.optional(),
    minimization: Minimization.optional(),
  })
  .strict();
export type RenewInput = z.infer<typeof RenewInput>;

/** Fields of a record whose change requires a superseding grant rather than a renewal. */
export const FRESH_CONSENT_FIELDS = ['purposes', 'dataCategories', 'notice', 'recipients', 'minimization'] as const;

/** The fields of a new record the gateway chooses rather than the client. */
export type RecordFill = {
  recordId: string;
  subject: string;
  controller: string;
  notBefore: string;
  expiresAt: string | null;
  supersedes: string | null;
};

const RecordFillSchema = z
  .object({
    recordId: RecordId,
    subject: Pseudonym,
    controller: PartyId,
    notBefore: Instant,
    expiresAt: Instant.nullable(),
    supersedes: RecordId.nullable(),
  })
  .strict();

/**
 * Builds a grant's record from its request, already parsed by ConsentGrantInput (the same schemas and cross-field
 * rules as ConsentRecord; a route's validated body is that parse), and the gateway's fill, checked here, so the hot
 * write path does not parse the whole record again. The result is frozen and counts as validated.
 */
export function buildGrantRecord(
  input: ConsentGrantInput,
  fill: (input: ConsentGrantInput) => RecordFill,
): ConsentRecord {
  const f = RecordFillSchema.parse(fill(input));
  if (f.expiresAt !== null && Date.parse(f.expiresAt) <= Date.parse(f.notBefore)) {
    throw new GatewayError('BAD_INPUT', 'expiresAt must be after notBefore', { path: ['expiresAt'] });
  }
  const record = withSharedTerms({
    recordId: f.recordId,
    schemaVersion: CONSENT_SCHEMA_VERSION,
    subject: f.subject,
    controller: f.controller,
    jurisdiction: input.jurisdiction,
    recipients: input.recipients,
    purposes: input.purposes,
    dataCategories: input.dataCategories,
    minimization: input.minimization,
    notice: input.notice,
    indication: input.indication,
    separateConsent: input.separateConsent,
    status: 'Given',
    notBefore: f.notBefore,
    expiresAt: f.expiresAt,
    supersedes: f.supersedes,
    signatures: [],
    anchor: null,
  });
  validatedRecords.add(record);
  return record;
}
