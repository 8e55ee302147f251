// ESLint flat config: type-aware rules from typescript-eslint over every TypeScript source.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'lib/gen/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The Raft core is pure and deterministic: no I/O, clock, timers or global randomness.
    files: ['lib/raft/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'net', 'os', 'child_process', 'timers', '../../*'], message: 'lib/raft/core is pure: inject what it needs' }] }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'process', 'performance', 'fetch', 'require'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'use the injected random' }, { object: 'Date', property: 'now', message: 'time is ticks' }],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'time is ticks' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
