// The README's promises stay true: the set-up commands are the ones CI runs, every runtime
// dependency is listed with its reason, and every configuration variable is documented.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../gateway/config.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
const pkg = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

const INSTALL = 'npx -y -p node@24 npm ci';
/** The browser the console's tests drive (test/fixtures/browser.ts), installed when it is missing. */
const CHROMIUM = 'command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }';

describe('README', () => {
  it('gives exactly the install, run and test steps', () => {
    expect(readme).toContain(`1. Install: \`${INSTALL}\``);
    expect(readme).toContain('2. Run: `npm start`');
    expect(readme).toContain('3. Test: `npm test`');
    expect(pkg.scripts.start).toBe('exec node --max-old-space-size=1024 gateway/cli/cli.ts serve');
    // The heap cap npm start sets is the one the README explains.
    expect(readme).toContain('`--max-old-space-size=1024` in package.json');
  });

  it('decides every install script npm ci would run, and says why', () => {
    // Every installed package that declares an install script is named in allowScripts (else npm ci warns).
    const withScripts = new Set<string>();
    const visit = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        if (name.startsWith('@')) {
          for (const scoped of readdirSync(join(dir, name))) visitPackage(join(dir, name, scoped));
        } else visitPackage(join(dir, name));
      }
    };
    const visitPackage = (dir: string) => {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) return;
      const { name, scripts = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as {
        name: string;
        scripts?: Record<string, string>;
      };
      if (['preinstall', 'install', 'postinstall'].some((s) => s in scripts)) withScripts.add(name);
      if (existsSync(join(dir, 'node_modules'))) visit(join(dir, 'node_modules'));
    };
    visit(fileURLToPath(new URL('../../node_modules', import.meta.url)));
    expect([...withScripts].filter((name) => !(name in pkg.allowScripts))).toEqual([]);
    expect(readme).toContain("anvil's\ndownloads a binary and esbuild's");
  });

  it('.ci/run runs the README install and test commands, Chromium first, and is executable', () => {
    const script = read('.ci/run');
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toContain('set -euo pipefail');
    const commands = script
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(commands).toEqual([CHROMIUM, INSTALL, 'npm test']);
    expect(readme).toContain(CHROMIUM);
    expect(statSync(new URL('../../.ci/run', import.meta.url)).mode & 0o111).not.toBe(0);
  });

  it('lists every runtime dependency with a reason', () => {
    const section = readme.split('## Runtime dependencies')[1] ?? '';
    for (const name of Object.keys(pkg.dependencies)) {
      expect(section, name).toMatch(new RegExp(`^- \`${name.replace(/[/.]/g, '\\$&')}\`: .{20,}`, 'm'));
    }
  });

  it('documents every configuration variable and shows the main flow with curl', () => {
    for (const name of [...Object.values(ENV_VARS), 'SEALGATE_CONFIG'])
      expect(readme, name).toContain(`| \`${name}\` |`);
    expect(readme).toContain('## Main flow (curl)');
    const flow = readme.split('## Main flow (curl)')[1]?.split('\n## ')[0] ?? '';
    for (const route of [
      '/v1/consents',
      '/v1/delegations',
      '/v1/decisions',
      '/withdraw',
      '/v1/consents/filter',
      '/v1/audit/verify',
    ]) {
      expect(flow, route).toContain(route);
    }
  });
});
