// Lint rules for the whole repository. Each boundary rule carries a comment saying why it exists.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'test-artifacts/**',
      'scripts/*.mjs',
      'client-sdk/scripts/*.mjs',
      'deploy/**',
      // A customer's app with its own tsconfig and dependencies (installed by its test, not the workspace).
      'examples/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A `return` swallowed by `finally` is the bug that once locked valid users out.
      'no-unsafe-finally': 'error',
      // An unawaited promise hides failures (and Redis outages) from the caller.
      '@typescript-eslint/no-floating-promises': 'error',
      // Passing an async function where a void callback is expected drops its rejection.
      '@typescript-eslint/no-misused-promises': 'error',
      // A new union member must be handled everywhere it is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The wire shape is the only thing that may reach clients; stray console output is not structured.
      'no-console': 'error',
    },
  },
  {
    files: ['client-sdk/src/protocol/**/*.ts'],
    rules: {
      // The wire contract imports nothing, so both sides can share it without dragging code along.
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\./)', message: 'The protocol imports nothing.' }] },
      ],
    },
  },
  {
    files: ['client-sdk/src/**/*.ts'],
    ignores: ['client-sdk/src/protocol/**'],
    rules: {
      // The SDK runs in browsers: no Node built-ins, and React only in the optional react/ entry.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'The SDK runs in browsers: no Node built-ins.' },
            { regex: '^react', message: 'Only client-sdk/src/react/ may import React.' },
          ],
        },
      ],
    },
  },
  {
    files: ['client-sdk/src/react/**/*.ts'],
    rules: {
      // React bindings may import React (an optional peer dependency), still nothing Node-only.
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^node:', message: 'The SDK runs in browsers: no Node built-ins.' }] },
      ],
    },
  },
  {
    files: ['gateway/src/**/*.ts'],
    rules: {
      // The gateway may take the wire contract from the SDK, and nothing else of it.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@stayline/client-sdk(?!/protocol$)',
              message: 'Import only @stayline/client-sdk/protocol.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/src/session/**/*.ts', 'gateway/src/auth/**/*.ts', 'gateway/src/features/**/*.ts'],
    rules: {
      // Only transport/ touches socket.io and express; features, auth and session stay testable without them.
      'no-restricted-imports': [
        'error',
        {
          paths: ['express', 'socket.io'],
          patterns: [
            {
              regex: '^@stayline/client-sdk(?!/protocol$)',
              message: 'Import only the protocol.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/bench/**/*.ts', '**/cli/**/*.ts', 'loadtest/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['**/test/**', '**/*.test.ts'],
    rules: {
      // Only tests import test/ (what others share with tests lives in dev/); the TS twin rule leaves other blocks' no-restricted-imports intact.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)test/', message: 'Only tests import test/; shared helpers live in dev/.' },
          ],
        },
      ],
    },
  },
);
