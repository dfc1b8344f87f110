// The policy bundle a gateway seeds on first start (Cedar 4 schema and policy language): the CLV
// joint-modeling story of DESIGN.md, and the regional-director rule as the scene-data-action example.
import type { PurposeCatalog } from './purpose.ts';

const SCHEMA = `// sealgate default Cedar schema: who (Partner, User) may do which action to which Dataset, in which scene.
// Entity types stay in the top-level namespace: the decision point names them Partner, User, Dataset.

// A peer gateway's organisation (dealer, insurer, charging network, ...).
entity Partner {
  role: String,
};

// A person or service account of this gateway's own organisation.
entity User {
  role: String,
  region: String,
};

// A connector view over customer data.
entity Dataset {
  owner: String,
  region: String,
  classification: String,
};

// Only what Cedar needs: the declared purpose and the scene. Subject and time stay out so answers can be memoized.
type UseContext = {
  purpose: String,
  scene: String,
};

// Joint computations that never reveal rows: PSI join, k-thresholded aggregates, federated models.
action "analytics";

action join, aggregate, model in ["analytics"] appliesTo {
  principal: [Partner, User],
  resource: [Dataset],
  context: UseContext,
};

action read, modify appliesTo {
  principal: [Partner, User],
  resource: [Dataset],
  context: UseContext,
};
`;

const POLICIES = `// sealgate default policies. Every policy carries an @id: decisions and audit entries cite it.

// Partners take part in joint computations only inside the joint-modeling scene. There is no permit
// for a Partner to read or modify: raw rows never leave the gateway.
@id("partner-joint-modeling")
permit (principal is Partner, action in Action::"analytics", resource is Dataset)
when { context.scene == "joint-modeling" };

// A buyer's compute-to-data delivery of a listed package (exchange/): aggregates and models computed where the data
// lives, never rows. The purpose must name the buyer as a recipient, and a delegation from this gateway admit it.
@id("buyer-compute-to-data")
permit (principal is Partner, action in [Action::"aggregate", Action::"model"], resource is Dataset)
when { principal.role == "buyer" && context.scene == "data-exchange" };

// The data steward runs this gateway's side of joint jobs.
@id("steward-analytics")
permit (principal is User, action in Action::"analytics", resource is Dataset)
when { principal.role == "data-steward" };

// A regional director may read and maintain their own region's data ...
@id("regional-director-own-region")
permit (principal is User, action in [Action::"read", Action::"modify"], resource is Dataset)
when { principal.role == "regional-director" && principal.region == resource.region };

// ... but may not modify HQ pricing policy, even in their region: no one changes it through the gateway.
@id("no-modify-hq-pricing")
forbid (principal, action == Action::"modify", resource is Dataset)
when { resource.classification == "hq-pricing" };

// Sensitive data is touched only during a compliance review.
@id("sensitive-only-in-compliance-review")
forbid (principal, action, resource is Dataset)
when { resource.classification == "sensitive" }
unless { context.scene == "compliance-review" };

// Compliance officers read during a review.
@id("compliance-officer-review")
permit (principal is User, action == Action::"read", resource is Dataset)
when { principal.role == "compliance-officer" && context.scene == "compliance-review" };
`;

const PURPOSES: PurposeCatalog = {
  'joint-modeling-clv': {
    description:
      'Joint customer-lifetime-value modeling by the dealer, insurer and charging network (compute-to-data, no raw rows shared).',
    fieldAllowlist: [
      'customer_age',
      'vehicle_model',
      'charging_kwh_month',
      'policy_premium',
      'region_code',
      'financing_type',
    ],
    precision: {
      customer_age: 'band:5',
      region_code: 'truncate:4',
      charging_kwh_month: 'round:0',
      policy_premium: 'round:-2',
    },
    kThreshold: 10,
    allowedRecipients: ['dealer-4s', 'insurer-a', 'charging-net'],
    actions: ['join', 'aggregate', 'model'],
  },
  'charging-demand-forecast': {
    description:
      "A battery maker's regional charging-demand forecast from the dealer's automotive behaviour package: aggregates and models computed where the data lives (compute-to-data), never rows.",
    fieldAllowlist: [
      'region_code',
      'purchase_intent',
      'nev_acceptance',
      'financing_preference',
      'vehicle_model',
      'customer_age',
    ],
    precision: { customer_age: 'band:5', region_code: 'truncate:4' },
    kThreshold: 10,
    allowedRecipients: ['battery-maker'],
    actions: ['aggregate', 'model'],
  },
  'marketing': {
    description: 'Aggregate campaign statistics by vehicle model and coarse region.',
    fieldAllowlist: ['vehicle_model', 'region_code', 'customer_age'],
    precision: { region_code: 'truncate:2', customer_age: 'band:10' },
    kThreshold: 50,
    allowedRecipients: ['dealer-4s'],
    actions: ['aggregate'],
  },
  'regional-operations': {
    description: "A regional director's own-region reporting; internal to this gateway (no partner recipients).",
    fieldAllowlist: ['vehicle_model', 'region_code', 'monthly_sales', 'customer_age'],
    precision: { customer_age: 'band:10' },
    kThreshold: 1,
    allowedRecipients: [],
    actions: ['read', 'modify', 'aggregate'],
  },
  'compliance-review': {
    description: "The compliance officer's audit of consent and data use; internal to this gateway.",
    fieldAllowlist: ['customer_age', 'vehicle_model', 'region_code', 'policy_premium'],
    precision: {},
    kThreshold: 1,
    allowedRecipients: [],
    actions: ['read'],
  },
};

export const DEFAULT_POLICY_BUNDLE = { schema: SCHEMA, policies: POLICIES, purposes: PURPOSES } as const;
