import { test, expect, type Page } from '@playwright/test';
import { newUser, registerVerified, waitForHydration } from './helpers';

/** The Wasm files a page fetches, in order (the main module, then any lazily loaded island's chunk). */
function wasmFetches(page: Page): string[] {
  const fetched: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm')) fetched.push(path);
  });
  return fetched;
}

// Islands (issue 9): the server renders every page and the browser runs only its islands.
// The waiting screen, the passkeys, registration, phone verification and the sandbox phone
// are lazily loaded islands, cut out of the main Wasm module, so a first visit to Send a
// payment downloads less; each comes in its own chunk on the first page that shows it.
test('a first visit to Send a payment fetches only the main Wasm module; the waiting screen brings its own chunk', async ({
  page,
  context,
  browser,
}) => {
  const user = newUser();
  await registerVerified(page, context, user);

  // A new browser context: an empty cache, signed in with the same session cookie.
  const fresh = await browser.newContext();
  await fresh.addCookies(await context.cookies());
  const first = await fresh.newPage();
  const fetched = wasmFetches(first);

  await first.goto('/payments/new');
  await waitForHydration(first);
  await expect(first.getByRole('heading', { name: 'Send a payment' })).toBeVisible();
  expect(fetched).toHaveLength(1);
  const main = fetched[0];

  // Typing fetches the waiting screen's chunk ahead of time, into the browser's cache.
  await first.getByLabel('Send to').fill('Luna Lovegood');
  await expect.poll(() => fetched.filter((path) => path !== main).length).toBeGreaterThan(0);
  await first.getByLabel('Amount').fill('12.50');
  await first.getByRole('button', { name: 'Send for approval' }).click();
  await expect(first).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  await expect(first.getByText('Waiting for approval on your phone')).toBeVisible();
  // The waiting screen works: its island is taken over with the chunk fetched ahead.
  await expect(first.getByTestId('countdown')).toBeVisible();
  await waitForHydration(first);

  // Opened directly, the waiting screen hydrates too: its chunk comes with the main module
  // and its code runs (the countdown ticks in the browser).
  const url = first.url();
  const direct = await fresh.newPage();
  const directFetched = wasmFetches(direct);
  await direct.goto(url);
  await waitForHydration(direct);
  const countdown = direct.getByTestId('countdown');
  const shown = (await countdown.textContent()) ?? '';
  await expect(countdown).not.toHaveText(shown);
  expect(directFetched.length).toBeGreaterThan(1);
  await fresh.close();
});

// Sign-in is a small island in the main module: opened directly it runs in the browser, and
// a wrong password is answered in the page, without a reload. The start page has nothing
// that needs a lazily loaded chunk.
test('sign-in answers in the page when opened directly; the start page fetches no chunk', async ({ page }) => {
  const fetched = wasmFetches(page);
  await page.goto('/');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Payments you approve on your phone' })).toBeVisible();
  expect(fetched).toHaveLength(1);

  await page.goto('/login');
  await waitForHydration(page);
  // Marks this document: a full page load (the form posted without the client) would lose it.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await page.getByLabel('Email').fill(`nobody-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('Email or password is incorrect.');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});
