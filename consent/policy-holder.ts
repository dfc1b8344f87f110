// The policy bundle in force: loaded and compiled at start, swapped atomically on an admin reload.
// A bundle that does not compile never replaces the one in force, so a bad upload cannot open access.
import { compilePolicyBundle, type Authorizer } from './cedar.ts';
import { loadPolicyBundle, seedDefaultPolicyBundle, writePolicyBundle, PolicyBundle } from './policy-set.ts';

export type PolicyHolder = {
  readonly bundle: PolicyBundle;
  readonly authorizer: Authorizer;
  /** Validates and compiles `candidate`, writes it to disk, then makes it current. Throws POLICY_INVALID. */
  replace(candidate: unknown): Promise<{ previousVersion: string; version: string }>;
  /** Re-reads the files on disk (an operator edited them) with the same all-or-nothing rule. */
  reload(): Promise<{ previousVersion: string; version: string }>;
};

export async function openPolicyHolder(dir: string): Promise<PolicyHolder> {
  await seedDefaultPolicyBundle(dir);
  let bundle = await loadPolicyBundle(dir);
  let authorizer = compilePolicyBundle(bundle);

  const swap = (next: PolicyBundle, compiled: Authorizer) => {
    const previousVersion = authorizer.version;
    bundle = next;
    authorizer = compiled;
    return { previousVersion, version: compiled.version };
  };

  return {
    get bundle() {
      return bundle;
    },
    get authorizer() {
      return authorizer;
    },
    replace: async (candidate) => {
      const next = PolicyBundle.parse(candidate);
      const compiled = compilePolicyBundle(next);
      await writePolicyBundle(dir, next);
      return swap(next, compiled);
    },
    reload: async () => {
      const next = await loadPolicyBundle(dir);
      return swap(next, compilePolicyBundle(next));
    },
  };
}
