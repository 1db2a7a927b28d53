import { defineConfig } from '@playwright/test';

// The app under test is the cargo-leptos dev build, started fresh with an empty SQLite
// database on its own port, so a `make run` on port 3000 does not get in the way.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
/** A second server whose sessions end after 10 idle seconds (tests of session expiry). */
const idlePort = port + 1;
/**
 * E2E_DATABASE_URL (make test: PostgreSQL) runs the main server on that database, with a
 * second instance on the same database that receives the provider's callbacks: the
 * sandbox on the page's instance sends them there, as a load balancer could.
 */
const callbackPort = port + 2;
/**
 * Passkeys need the page at a host name, not an IP address: a server whose PUBLIC_URL is
 * http://localhost:<port> (its relying-party id is `localhost`), on its own SQLite file.
 */
const passkeyPort = port + 3;
/**
 * Twilio Verify as the provider (PAYFRIEND_PROVIDER=verify, the sandbox's Verify wire), at
 * `localhost` for passkeys, on its own SQLite file: the journey of verify.spec.ts.
 */
const verifyPort = port + 4;
const shared: Record<string, string> = process.env.E2E_DATABASE_URL
  ? {
      DATABASE_URL: process.env.E2E_DATABASE_URL,
      AUTHY_API_KEY: 'e2e-shared-api-key-0123456789abcdef',
      AUTHY_CALLBACK_URL: `http://127.0.0.1:${callbackPort}/payments/callback`,
      SESSION_SECRET: 'e2e-shared-session-secret-0123456789abcdef',
      // No background reconciliation: a decision reaches the page only through the
      // callback to the other instance (or the SMS code), so the run proves that path.
      SWEEP_INTERVAL_SECS: '3600',
    }
  : {};

function server(listen: number, extraEnv: Record<string, string>) {
  const db = `target/e2e-${listen}.db`;
  return {
    command: `rm -f ${db} ${db}-wal ${db}-shm && exec target/debug/payfriend`,
    cwd: '..',
    url: `http://127.0.0.1:${listen}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      LEPTOS_OUTPUT_NAME: 'payfriend',
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_SITE_ADDR: `127.0.0.1:${listen}`,
      PUBLIC_URL: `http://127.0.0.1:${listen}`,
      DATABASE_URL: `sqlite:${db}`,
      RUST_LOG: 'warn,payfriend=info',
      // Every test comes from 127.0.0.1: the per-client limits would be reached by the
      // suite itself (they have their own Rust tests).
      LIMIT_SIGN_IN: '10000/60',
      LIMIT_REGISTER: '10000/60',
      LIMIT_CODE_RESEND: '10000/60',
      LIMIT_PHONE_VERIFY: '10000/60',
      LIMIT_SEND_PAYMENT: '10000/60',
      LIMIT_PAYMENT_CODE: '10000/60',
      ...extraEnv,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  // One worker: the tests share one server; each test registers its own user.
  workers: 1,
  fullyParallel: false,
  // Always: a stray `test.only` must never pass the suite by skipping the rest.
  forbidOnly: true,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: [
    server(port, shared),
    server(idlePort, { SESSION_IDLE_SECS: '10' }),
    // On the PostgreSQL run it shares the main server's database (another instance on it).
    server(passkeyPort, {
      ...shared,
      PUBLIC_URL: `http://localhost:${passkeyPort}`,
      AUTHY_CALLBACK_URL: `http://127.0.0.1:${passkeyPort}/payments/callback`,
    }),
    ...(process.env.E2E_DATABASE_URL ? [server(callbackPort, shared)] : []),
    server(verifyPort, { PAYFRIEND_PROVIDER: 'verify', PUBLIC_URL: `http://localhost:${verifyPort}` }),
  ],
});
