import { defineConfig } from '@playwright/test';

// The app under test is the cargo-leptos dev build, started fresh with an empty SQLite
// database on its own port, so a `make run` on port 3000 does not get in the way.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  // One worker: the tests share one server; each test registers its own user.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
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
  webServer: {
    command: 'rm -f target/e2e.db target/e2e.db-wal target/e2e.db-shm && exec target/debug/payfriend',
    cwd: '..',
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LEPTOS_OUTPUT_NAME: 'payfriend',
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      PUBLIC_URL: baseURL,
      DATABASE_URL: 'sqlite:target/e2e.db',
      RUST_LOG: 'warn,payfriend=info',
    },
  },
});
