// The read side the policy decision point needs: which grants and delegations are in force right now.
// The consent store's in-memory projection implements it; the decision core depends only on this type.

/** A consent grant in force for one subject (status Given or Renewed, within notBefore..expiresAt). */
export type ActiveGrant = {
  recordId: string;
  subject: string;
  controller: string;
  purposes: readonly string[];
  /** Party ids that may receive data under this consent (recipients[].id). */
  recipients: readonly string[];
  fieldAllowlist: readonly string[];
  /** Field -> precision rule the subject accepted, e.g. { age: 'band:5', location: 'truncate:4' }. */
  precision: Readonly<Record<string, string>>;
  expiresAt: string | null;
};

/** A controller -> partner delegation in force. */
export type ActiveDelegation = {
  delegationId: string;
  controller: string;
  partner: string;
  purposes: readonly string[];
  fieldAllowlist: readonly string[];
  expiresAt: string;
};

export type AuthorizationView = {
  /** Grants of `subject` in force at `at` whose purposes include `purpose`. */
  grantsFor(subject: string, purpose: string, at: Date): ActiveGrant[];
  /** Delegations to `partner` in force at `at` whose purposes include `purpose`. */
  delegationsFor(partner: string, purpose: string, at: Date): ActiveDelegation[];
};
