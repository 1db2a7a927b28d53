import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// The build people deploy, in a browser: `make release`'s server and site (size-optimised
// Wasm through wasm-opt, v0 symbol names, precompressed files, hashed names), on its own
// port with a fresh SQLite file, running the new-user journey of spa.spec.ts (register,
// verify the phone, send a payment, approve it on the sandbox phone, the lists, log out,
// log in: one document). `make test` runs it after the debug build's suites.
const port = Number(process.env.E2E_RELEASE_PORT ?? 3200);
const db = `target/e2e-release-${port}.db`;

export default defineConfig({
  ...base,
  grep: /a whole journey by clicks is one document/,
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}` },
  webServer: [
    {
      command: `rm -f ${db} ${db}-wal ${db}-shm && exec target/release/payfriend`,
      cwd: '..',
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        LEPTOS_OUTPUT_NAME: 'payfriend',
        LEPTOS_SITE_ROOT: 'target/site',
        LEPTOS_SITE_PKG_DIR: 'pkg',
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        DATABASE_URL: `sqlite:${db}`,
        RUST_LOG: 'warn,payfriend=info',
      },
    },
  ],
});
