// Lint rules for the whole repository. Each boundary rule carries a comment saying why it exists.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---- The gateway's boundaries (CONVENTIONS.md "Dependencies point one way"), generated per folder ----
// Flat config replaces a rule's options instead of merging them, so every folder gets one block with all of
// its import restrictions. They use the typescript-eslint variant of no-restricted-imports (it also sees
// `import type`), which leaves the hand-written `no-restricted-imports` blocks (protocol, SDK) untouched.

/** gateway/src's parts, left to right: a part imports only what stands to its right. */
const GATEWAY_LAYERS = [
  ['main.ts', 'cli'],
  ['gateway.ts'],
  ['transport'],
  ['features'],
  ['auth', 'session'],
  ['metrics', 'infra'],
  ['config', 'errors'],
];
/** Folders as deep as this below gateway/src/<part>/ get the rules (deeper files would go unchecked). */
const MAX_FOLDER_DEPTH = 4;

/** A regex for an import of src-level `part` written from a file `depth` folders below gateway/src. */
function partSpecifier(part, depth) {
  const up = depth === 0 ? '\\./' : `(\\.\\./){${depth}}`;
  return part.endsWith('.ts') ? `^${up}${part.slice(0, -3)}\\.[jt]s$` : `^${up}${part}(/|$)`;
}

/** The import patterns a file of `part`, `depth` folders below gateway/src, may not use. */
function gatewayImportPatterns(part, depth) {
  const layer = GATEWAY_LAYERS.findIndex((parts) => parts.includes(part));
  const left = GATEWAY_LAYERS.slice(0, layer).flat();
  const patterns = [
    // Direction chain: main -> gateway.ts -> transport -> features -> auth | session -> metrics | infra -> config | errors.
    ...left.map((target) => ({
      regex: partSpecifier(target, depth),
      message: `${part} may not import ${target}: dependencies point one way (CONVENTIONS.md).`,
    })),
  ];
  // auth and session never import each other: they meet on the typed socket.data.
  const peer = { auth: 'session', session: 'auth' }[part];
  if (peer !== undefined)
    patterns.push({
      regex: partSpecifier(peer, depth),
      message: `${part} may not import ${peer}: auth and session meet on the typed socket.data.`,
    });
  // Features never import each other (files directly in features/ are shared and allowed).
  if (part === 'features' && depth >= 2)
    patterns.push({
      regex: `^(\\.\\./){${depth - 1}}[^./][^/]*/`,
      message: 'A feature may not import another feature; share through features/*.ts or a lower layer.',
    });
  // Only transport/ touches express, socket.io, the engine, ws and the HTTP server.
  if (part !== 'transport')
    patterns.push({
      regex:
        '^(express|socket\\.io(-adapter|-parser)?|engine\\.io(-parser)?|ws|@socket\\.io/[^/]+|node:https?)(/|$)',
      message: 'Only gateway/src/transport/ may import express, socket.io, engine.io, ws or node:http.',
    });
  // Only the Redis stores (session/) and infra/ touch ioredis.
  if (part !== 'session' && part !== 'infra')
    patterns.push({
      regex: '^ioredis(/|$)',
      message: 'Only gateway/src/session/ and infra/ may import ioredis.',
    });
  return patterns;
}

/**
 * One block per part and folder depth: the part's files at that depth and everything they may not import.
 * A file directly in gateway/src other than main.ts stands where gateway.ts stands (the first block).
 */
const gatewayBoundaries = [
  {
    files: ['gateway/src/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: gatewayImportPatterns('gateway.ts', 0) },
      ],
    },
  },
].concat(
  GATEWAY_LAYERS.flat().flatMap((part) =>
    (part.endsWith('.ts') ? [0] : Array.from({ length: MAX_FOLDER_DEPTH }, (_, i) => i + 1)).map((depth) => ({
      files: [depth === 0 ? `gateway/src/${part}` : `gateway/src/${part}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          { patterns: gatewayImportPatterns(part, depth) },
        ],
      },
    })),
  ),
);

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
  ...gatewayBoundaries,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      // Configuration is read once, by main.ts through config/: nothing else may read process.env.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in main.ts/config/ and pass it in.',
        },
      ],
    },
  },
  {
    // Entry points and tooling: the gateway's main and config, CLIs, scripts, tests, benchmarks, the load tester's CLI.
    files: [
      'gateway/src/main.ts',
      'gateway/src/config/**/*.ts',
      'gateway/src/cli/**/*.ts',
      'scripts/**/*.ts',
      'dev/**/*.ts',
      '**/test/**/*.ts',
      '**/test/**/*.tsx',
      '**/*.test.ts',
      '**/*.test.tsx',
      'gateway/bench/**/*.ts',
      'loadtest/src/cli.ts',
      'loadtest/src/cli/**/*.ts',
      'loadtest/src/local-cluster.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
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
