#!/usr/bin/env node
// Builds @stayline/client-sdk into dist/ (package.json `exports` and `files` point here):
//   dist/esm/       ESM, one module per source file, with .d.ts declarations (tsc)
//   dist/cjs/       CommonJS (.cjs), one module per source file, with .d.cts declarations
//   dist/browser/   stayline.min.js: the whole SDK with socket.io-client in one minified ESM file (esbuild)
//   dist/demo/      the demo page the gateway serves at /demo (esbuild, with React; not published)
//   dist/size.json  the browser file's size, minified and gzipped
// `--if-missing` builds only when dist/demo/index.html is absent (for `npm start` and test setup);
// `--demo-only` skips the library (the demo needs only esbuild); `--library-only` (npm pack's prepack)
// skips the demo.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
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

/** Replaces `target` with `staged`; another build swapping the same target at once wins, then this one. */
function swapIn(staged, target) {
  for (let tries = 0; ; tries++) {
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staged, target);
      return;
    } catch (err) {
      if (tries >= 20 || !['ENOTEMPTY', 'EEXIST', 'EISDIR'].includes(err.code)) throw err;
    }
  }
}

/** Every file under `dir`, recursively. */
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
/** Rewrites relative import specifiers ending in `from` to end in `to`. */
const rewriteSpecifiers = (text, from, to) =>
  text.replace(
    new RegExp(`((?:from|import)\\s*\\(?\\s*['"]\\.{1,2}/[^'"]*?)\\${from}(['"])`, 'g'),
    `$1${to}$2`,
  );

async function buildLibrary() {
  // Built aside, then swapped in: a gateway or test reading dist/esm meanwhile never sees it half-written.
  const stage = join(dist, `.stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  // ESM and declarations: tsc, one module per source file.
  const tsc = spawnSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(stage, 'esm'),
    ],
    {
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error('tsc failed');
  // Sources import siblings as './x.ts' (allowImportingTsExtensions); tsc rewrites the .js output but not
  // the declarations, which consumers resolve without that option.
  const declarations = walk(join(stage, 'esm')).filter((f) => f.endsWith('.d.ts'));
  for (const file of declarations) {
    writeFileSync(file, rewriteSpecifiers(readFileSync(file, 'utf8'), '.ts', '.js'));
  }

  // CommonJS: the same modules, one per source file (esbuild, every import left external), requiring
  // each other as .cjs; the declarations copied as .d.cts, so TypeScript types a require() as CommonJS.
  const sources = walk(join(root, 'src')).filter((f) => f.endsWith('.ts'));
  await esbuild.build({
    entryPoints: sources,
    outdir: join(stage, 'cjs'),
    outbase: join(root, 'src'),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2020',
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-siblings',
        setup(build) {
          build.onResolve({ filter: /^\.{1,2}\// }, (a) =>
            a.kind === 'entry-point' ? undefined : { path: a.path.replace(/\.ts$/, '.cjs'), external: true },
          );
          build.onResolve({ filter: /^[^./]/ }, (a) =>
            a.kind === 'entry-point' ? undefined : { path: a.path, external: true },
          );
        },
      },
    ],
  });
  for (const file of declarations) {
    const target = join(stage, 'cjs', relative(join(stage, 'esm'), file)).replace(/\.d\.ts$/, '.d.cts');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, rewriteSpecifiers(readFileSync(file, 'utf8'), '.js', '.cjs'));
  }

  // One minified ESM file with socket.io-client inside, for <script type="module">; its size is the figure
  // the README states (a test compares them).
  const outfile = join(stage, 'browser', 'stayline.min.js');
  const result = await esbuild.build({
    entryPoints: [join(root, 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
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
  writeFileSync(join(stage, 'size.json'), JSON.stringify(size, null, 2) + '\n');
  for (const name of ['esm', 'cjs', 'browser', 'size.json']) swapIn(join(stage, name), join(dist, name));
  rmSync(stage, { recursive: true, force: true });
  say(`esm+d.ts  -> ${join(dist, 'esm')}`);
  say(`cjs+d.cts -> ${join(dist, 'cjs')}`);
  say(
    `browser   -> ${join(dist, 'browser', 'stayline.min.js')}: ${(size.minifiedBytes / 1024).toFixed(1)} KiB minified, ${(size.gzipBytes / 1024).toFixed(1)} KiB gzipped`,
  );
}

try {
  if (!args.has('--demo-only')) await buildLibrary();
  if (!args.has('--library-only')) await buildDemo();
} catch (err) {
  console.error(`client-sdk build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
