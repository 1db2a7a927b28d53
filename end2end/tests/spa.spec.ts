import { test, expect, type Page } from '@playwright/test';
import { latestCode, newUser, openPhone, pushFor, registerVerified, sendPayment, waitForHydration } from './helpers';

// Payfriend is a hydrated single-page app: the server renders the first page, then the
// browser routes. These tests hold it to that: one document for a whole journey made by
// clicks, Back and Forward inside the app, and each page still rendered by the server.

/** Counts document loads of `page`'s main frame (a client-side navigation fires no `load`). */
function countDocumentLoads(page: Page): { count: number } {
  const loads = { count: 0 };
  page.on('load', () => loads.count++);
  return loads;
}

/** Marks the current document: a document load would lose the mark. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { journeyMark: number }).journeyMark = 42));
}

async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { journeyMark?: number }).journeyMark === 42);
}

/**
 * One step of the journey: the URL and title are the new page's, the document is the first
 * one, and the server renders the same page for this URL (as a reload would get it).
 */
async function step(page: Page, url: RegExp, title: string, heading: string | RegExp): Promise<void> {
  await expect(page).toHaveURL(url);
  await expect(page).toHaveTitle(title);
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
  expect(await sameDocument(page)).toBe(true);
  // What a reload would show: the server's own rendering of this URL, with this session.
  const html = await (await page.request.get(page.url())).text();
  expect(html).toContain(`<title>${title.replace(/&/g, '&amp;')}</title>`);
  const h1 = html.match(/<h1[^>]*>(.*?)<\/h1>/s)?.[1] ?? '';
  expect(h1.replace(/<!--.*?-->/gs, '')).toMatch(heading);
}

test('a whole journey by clicks is one document: register, verify, pay, approve, lists, log out, log in', async ({
  page,
  context,
}) => {
  test.setTimeout(120_000);
  const loads = countDocumentLoads(page);
  const user = newUser();
  await page.goto('/');
  await waitForHydration(page);
  await markDocument(page);
  const nav = page.getByRole('navigation');

  await nav.getByRole('link', { name: 'Register' }).click();
  await step(page, /\/register$/, 'Create an account · Payfriend', 'Create your account');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Mobile number').fill(user.phone);
  await page.getByRole('button', { name: 'Create account' }).click();
  await step(page, /\/verify$/, 'Verify your phone · Payfriend', 'Verify your phone');

  const phone = await openPhone(context, user.phone);
  await page.getByLabel('Verification code').fill(await latestCode(phone));
  await page.getByRole('button', { name: 'Verify' }).click();
  await step(page, /\/payments\/new$/, 'Send a payment · Payfriend', 'Send a payment');

  await page.getByLabel('Send to').fill('Luna Lovegood');
  await page.getByLabel('Amount').fill('7.25');
  await page.getByRole('button', { name: 'Send for approval' }).click();
  await step(page, /\/payments\/[0-9a-f-]{36}$/, 'Luna Lovegood: Pending · Payfriend', 'Luna Lovegood');
  await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();
  const paymentUrl = page.url();

  await phone.reload();
  await pushFor(phone, 'Luna Lovegood').getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('receipt')).toContainText('$7.25');
  await step(page, /\/payments\/[0-9a-f-]{36}$/, 'Luna Lovegood: Approved · Payfriend', 'Luna Lovegood');

  await nav.getByRole('link', { name: 'My payments' }).click();
  await step(page, /\/payments$/, 'My payments · Payfriend', 'My payments');
  await expect(page.getByTestId('payment-row').first().getByTestId('status')).toHaveText('Approved');

  await nav.getByRole('link', { name: 'Account' }).click();
  await step(page, /\/account$/, 'Your account · Payfriend', 'Your account');

  // Back and Forward move between the pages without a document load.
  await page.goBack();
  await step(page, /\/payments$/, 'My payments · Payfriend', 'My payments');
  await page.goBack();
  await expect(page).toHaveURL(paymentUrl);
  await expect(page.getByTestId('receipt')).toContainText('$7.25');
  await step(page, /\/payments\/[0-9a-f-]{36}$/, 'Luna Lovegood: Approved · Payfriend', 'Luna Lovegood');
  await page.goForward();
  await step(page, /\/payments$/, 'My payments · Payfriend', 'My payments');
  await page.goForward();
  await step(page, /\/account$/, 'Your account · Payfriend', 'Your account');

  await nav.getByRole('button', { name: 'Log out' }).click();
  await step(page, /\/$/, 'Payfriend', 'Payments you approve on your phone');
  await expect(nav.getByRole('link', { name: 'Log in' })).toBeVisible();

  await nav.getByRole('link', { name: 'Log in' }).click();
  await step(page, /\/login$/, 'Log in · Payfriend', 'Log in');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await step(page, /\/payments\/new$/, 'Send a payment · Payfriend', 'Send a payment');

  expect(loads.count).toBe(1);
  // The Navigation Timing API agrees: this document was the first and only one.
  expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
});

test('leaving the waiting screen by a link stops its status checks and timers', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Ron', '4');
  let polls = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/get_payment')) polls++;
  });
  // The page polls while it waits.
  await expect.poll(() => polls, { timeout: 10_000 }).toBeGreaterThan(0);

  await markDocument(page);
  await page.getByRole('navigation').getByRole('link', { name: 'My payments' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'My payments' })).toBeVisible();
  expect(await sameDocument(page)).toBe(true);
  const afterLeaving = polls;
  // Three poll periods and more: a timer left running would have asked at least twice.
  await page.waitForTimeout(10_000);
  expect(polls).toBe(afterLeaving);
});

test('a signed-out visitor who follows a link to a payment page is taken to log in without seeing it', async ({
  page,
}) => {
  await page.goto('/');
  await waitForHydration(page);
  await markDocument(page);
  const seen: string[] = [];
  await page.exposeFunction('sawHeading', (text: string) => seen.push(text));
  // Records every h1 that appears, however briefly.
  await page.evaluate(() => {
    new MutationObserver(() => {
      for (const h of document.querySelectorAll('main h1')) {
        (window as unknown as { sawHeading: (t: string) => void }).sawHeading(h.textContent ?? '');
      }
    }).observe(document.body, { subtree: true, childList: true });
  });
  // A link in the page, followed by the client-side router.
  await page.evaluate(() => {
    const a = document.createElement('a');
    a.href = '/payments';
    a.textContent = 'Go to my payments';
    a.id = 'to-payments';
    document.querySelector('main')?.append(a);
  });
  await page.locator('#to-payments').click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Log in' })).toBeVisible();
  expect(await sameDocument(page)).toBe(true);
  expect(seen).not.toContain('My payments');
});
