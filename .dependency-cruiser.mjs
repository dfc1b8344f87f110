// The layering of docs/architecture.md, checked by dependency-cruiser inside `npm test` (`npm run layers`).
// Imports run one way: gateway/ (the shell) → the domains → core/ (the ground layer). Among the domains, each may
// import only the ones listed beneath it in docs/architecture.md. Tests and benchmarks drive the shell, so they may
// import anything; they still may not form a cycle.
const DOMAINS = '(consent|connectors|contracts|mpc|valuation|exchange)';

/** `from` may import nothing of ours but `allowed` (and itself). */
const only = (name, from, allowed) => ({
  name,
  severity: 'error',
  from: { path: `^${from}/` },
  to: {
    path: '^(core|gateway|consent|connectors|contracts|mpc|valuation|exchange)/',
    pathNot: `^(${[from, ...allowed].join('|')})/`,
  },
});

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules form no import circle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'nothing-imports-the-shell',
      severity: 'error',
      comment: 'gateway/ is the shell: no domain and no ground module imports it.',
      from: { path: `^(core|${DOMAINS.slice(1, -1)})/` },
      to: { path: '^gateway/' },
    },
    only('core-imports-nothing-ours', 'core', []),
    only('consent-layer', 'consent', ['core']),
    only('connectors-layer', 'connectors', ['core', 'consent']),
    only('contracts-layer', 'contracts', ['core', 'consent']),
    only('mpc-layer', 'mpc', ['core', 'consent', 'connectors', 'contracts']),
    only('valuation-layer', 'valuation', ['core']),
    only('exchange-layer', 'exchange', ['core', 'consent', 'connectors', 'contracts', 'mpc', 'valuation']),
    {
      name: 'runtime-knows-no-protocol',
      severity: 'error',
      comment: 'The job runtime (mpc/jobs, mpc/peers) runs any registered protocol: it imports none of them.',
      from: { path: '^mpc/(jobs|peers)/' },
      to: { path: '^mpc/', pathNot: '^mpc/(jobs|peers)/' },
    },
    {
      name: 'he-is-a-library',
      severity: 'error',
      comment: 'mpc/he (CKKS, the score shuffle, the worker pool) knows neither the runtime nor any protocol.',
      from: { path: '^mpc/he/' },
      to: { path: '^mpc/', pathNot: '^mpc/he/' },
    },
  ],
  options: {
    includeOnly: '^(core|gateway|consent|connectors|contracts|mpc|valuation|exchange|test|bench)/',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};
