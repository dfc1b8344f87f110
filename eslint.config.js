// Lint rules: typescript-eslint recommended, plus the house rules from STYLE.md
// that the type checker cannot enforce (no default-exported grab-bags, no stray console in cores).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['test/.generated/**', 'node_modules/**', '.sealgate/**', '.scratch-*/**', 'coverage/**', 'artifacts/**', 'cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Prettier wraps code at 120 columns; this holds comments to the same width (strings and URLs may run on).
      'max-len': ['error', { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      // Five or more parameters take one named object (STYLE.md); hot kernels opt out line by line, saying why.
      'max-params': ['error', 4],
      'no-restricted-syntax': ['error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object: enums are not erasable syntax.' },
        { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'Namespaces are not erasable syntax.' }],
    },
  },
  {
    // The compliance console's one script runs in the browser, not in Node.
    files: ['gateway/http/console/assets/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', crypto: 'readonly', TextEncoder: 'readonly' },
    },
  },
  {
    files: ['consent/**/*.ts', 'mpc/**/*.ts', 'valuation/**/*.ts', 'connectors/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', { paths: [
        { name: 'fastify', message: 'Only gateway/ imports fastify (STYLE.md: thin edges).' },
        { name: 'ethers', message: 'Only contracts/ imports ethers.' }] }],
    },
  },
);
