#!/usr/bin/env node
// Builds @stayline/client-sdk into dist/:
//   dist/esm/       ESM for bundlers, one module per source file, with .d.ts declarations (tsc)
//   dist/browser/   stayline.min.js: the whole SDK with socket.io-client in one minified ESM file (esbuild)
//   dist/demo/      the demo page the gateway serves at /demo (esbuild, with React)
//   dist/size.json  the browser file's size, minified and gzipped
// `--if-missing` builds only when dist/demo/index.html is absent (for `npm start` and test setup);
// `--demo-only` skips tsc (the demo needs only esbuild).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const say = (line) => quiet || console.log(line);

if (args.has('--if-missing') && existsSync(join(dist, 'demo', 'index.html'))) process.exit(0);

/** Fails the build when a browser bundle pulled in anything Node-only. */
function assertBrowserSafe(metafile, label) {
  const bad = Object.keys(metafile.inputs).filter(
    (input) => input.startsWith('node:') || /node_modules\/(ws|bufferutil|utf-8-validate)\//.test(input),
  );
  if (bad.length > 0) throw new Error(`${label} bundles Node-only modules: ${bad.join(', ')}`);
}

async function buildDemo() {
  const out = join(dist, 'demo');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(root, 'demo', 'demo.tsx')],
    outfile: join(out, 'demo.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  assertBrowserSafe(result.metafile, 'the demo');
  for (const file of ['index.html', 'demo.css']) copyFileSync(join(root, 'demo', file), join(out, file));
  say(`demo      -> ${out}`);
}

async function buildLibrary() {
  for (const dir of ['esm', 'browser']) rmSync(join(dist, dir), { recursive: true, force: true });
  const tsc = spawnSync('npx', ['tsc', '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error('tsc failed');
  // Sources import siblings as './x.ts' (allowImportingTsExtensions); tsc rewrites the .js output but not
  // the declarations, which consumers resolve without that option.
  const walk = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  for (const file of walk(join(dist, 'esm')).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2'));
  }
  say(`esm+d.ts  -> ${join(dist, 'esm')}`);

  const outfile = join(dist, 'browser', 'stayline.min.js');
  const result = await esbuild.build({
    entryPoints: [join(root, 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  assertBrowserSafe(result.metafile, 'the browser bundle');
  const code = readFileSync(outfile);
  const size = {
    file: 'dist/browser/stayline.min.js',
    minifiedBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
  };
  writeFileSync(join(dist, 'size.json'), JSON.stringify(size, null, 2) + '\n');
  // The publishable manifest: `npm publish client-sdk/dist`. In the repo, package.json maps the same
  // subpaths to the TypeScript sources, so workspaces use the SDK without a build.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entry = (path) => ({ types: `./esm/${path}.d.ts`, default: `./esm/${path}.js` });
  delete manifest.scripts;
  delete manifest.devDependencies;
  manifest.exports = {
    '.': entry('index'),
    './react': entry('react/index'),
    './protocol': entry('protocol/index'),
    './browser': './browser/stayline.min.js',
  };
  manifest.types = './esm/index.d.ts';
  manifest.sideEffects = false;
  writeFileSync(join(dist, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (existsSync(join(root, 'README.md'))) copyFileSync(join(root, 'README.md'), join(dist, 'README.md'));
  say(
    `browser   -> ${outfile}: ${(size.minifiedBytes / 1024).toFixed(1)} KiB minified, ${(size.gzipBytes / 1024).toFixed(1)} KiB gzipped`,
  );
}

try {
  if (!args.has('--demo-only')) await buildLibrary();
  await buildDemo();
} catch (err) {
  console.error(`client-sdk build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
