import { defineConfig } from 'vite';

// No plugin needed: Vite compiles TSX with esbuild, using tsconfig.json's `"jsx": "react-jsx"`.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  server: { port: 5173 },
});
