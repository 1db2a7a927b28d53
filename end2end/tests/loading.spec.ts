import { test, expect, type Page } from '@playwright/test';
import { newUser, registerVerified, waitForHydration } from './helpers';

/** The Wasm files a page fetches, in order (the main module, then any lazily loaded chunk). */
function wasmFetches(page: Page): string[] {
  const fetched: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm')) fetched.push(path);
  });
  return fetched;
}

// Code splitting (issue 9): the waiting screen, the lists, the account page, registration
// and the sandbox phone are cut out of the main Wasm module, so a first visit to Send a
// payment downloads less; each comes in its own chunk the first time it is shown.
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

  // Typing a payment fetches the waiting screen's chunk, before anything is sent.
  await first.getByLabel('Send to').fill('Luna Lovegood');
  await expect.poll(() => fetched.filter((path) => path !== main).length).toBeGreaterThan(0);
  const chunks = fetched.filter((path) => path !== main);
  await first.getByLabel('Amount').fill('12.50');
  await first.getByRole('button', { name: 'Send for approval' }).click();
  await expect(first).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  await expect(first.getByText('Waiting for approval on your phone')).toBeVisible();
  // The waiting screen works (its countdown runs in the browser) from the chunk fetched
  // while typing: sending fetched no further Wasm.
  const ticking = first.getByTestId('countdown');
  const before = (await ticking.textContent()) ?? '';
  await expect(ticking).not.toHaveText(before);
  expect(fetched.filter((path) => path !== main)).toEqual(chunks);

  // Opened directly, a lazily loaded page hydrates too: its chunk comes with the main module
  // and the page's own code runs (the countdown ticks in the browser).
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

// The start page and sign-in are chunks of their own too (less in the main module for
// everyone already signed in). Opened directly, each fetches its chunk after the main module
// and then runs in the browser: a wrong password is answered in the page, without a reload.
test('the start page and sign-in come in their own chunks and work when opened directly', async ({
  page,
}) => {
  const fetched = wasmFetches(page);
  await page.goto('/');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Payments you approve on your phone' })).toBeVisible();
  expect(fetched.length).toBeGreaterThan(1);
  const main = fetched[0];

  fetched.length = 0;
  await page.goto('/login');
  await waitForHydration(page);
  // The main module may come from the cache now; sign-in's chunk is new.
  expect(fetched.filter((path) => path !== main).length).toBeGreaterThan(0);

  // Marks this document: a full page load (the form posted without the client) would lose it.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await page.getByLabel('Email').fill(`nobody-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('Email or password is incorrect.');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});
