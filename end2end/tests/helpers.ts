import { BrowserContext, expect, Page } from '@playwright/test';

/** The second test server, whose sessions end after 10 idle seconds (see playwright.config.ts). */
export const IDLE_SERVER = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

/** Waits until the Wasm client has taken over the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  // Set once the whole page is hydrated, a lazily loaded page's chunk included.
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}

export interface TestUser {
  email: string;
  password: string;
  /** E.164, e.g. +12015550123 */
  phone: string;
}

const areaCodes = ['201', '202', '212', '303', '312', '415', '617', '646', '718', '917'];

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 10).toString();
  return s;
}

/** A user no other test uses: its own email and phone number. */
export function newUser(): TestUser {
  const exchange = String(200 + Math.floor(Math.random() * 800));
  return {
    email: `user-${Date.now()}-${digits(6)}@example.com`,
    password: 'correct horse battery',
    phone: `+1${pick(areaCodes)}${exchange}${digits(4)}`,
  };
}

/** Fills and sends the registration form; ends on the verification page. */
export async function register(page: Page, user: TestUser): Promise<void> {
  await page.goto('/register');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Mobile number').fill(user.phone);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/verify$/);
}

/** Opens the sandbox phone page for `phone` in a page of its own. */
export async function openPhone(context: BrowserContext, phone: string): Promise<Page> {
  const phonePage = await context.newPage();
  await phonePage.goto(`/sandbox/phone?phone=${encodeURIComponent(phone)}`);
  await waitForHydration(phonePage);
  return phonePage;
}

/** The code at the end of the newest message on the sandbox phone that matches `pattern`. */
export async function latestCode(phonePage: Page, pattern: RegExp = /code is:? (\d{4,10})$/): Promise<string> {
  const newest = phonePage.getByTestId('sms').first().locator('.sms-body');
  await expect(newest).toHaveText(pattern);
  const text = (await newest.textContent()) ?? '';
  const match = text.trim().match(pattern);
  if (!match) throw new Error(`no code in ${text}`);
  return match[1];
}

/** On the verification page, enters the code the sandbox phone page shows; ends on Send a payment. */
export async function verifyWithCodeFrom(page: Page, phonePage: Page): Promise<void> {
  const code = await latestCode(phonePage);
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/payments\/new$/);
}

/** Registers a user and verifies their phone with the code the sandbox phone received. */
export async function registerVerified(page: Page, context: BrowserContext, user: TestUser): Promise<void> {
  await register(page, user);
  const phonePage = await openPhone(context, user.phone);
  await verifyWithCodeFrom(page, phonePage);
  await phonePage.close();
}

/**
 * Runs `during` with the sandbox misbehaving as `fault` (its label on the phone page), and
 * puts it back to normal afterwards, whatever happens.
 */
export async function withSandboxFault(phonePage: Page, fault: string, during: () => Promise<void>): Promise<void> {
  const apply = async (label: string) => {
    await phonePage.getByLabel('Sandbox behaviour').selectOption({ label });
    await phonePage.getByRole('button', { name: 'Apply' }).click();
    await expect(phonePage.getByTestId('fault')).toHaveText(`Now: ${label}`);
  };
  await apply(fault);
  try {
    await during();
  } finally {
    await apply('Work normally');
  }
}

/** Signs in through the form. */
export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Sends a payment from the Send a payment page; ends on its waiting panel. */
export async function sendPayment(page: Page, payee: string, amount: string): Promise<string> {
  await page.goto('/payments/new');
  await waitForHydration(page);
  await page.getByLabel('Send to').fill(payee);
  await page.getByLabel('Amount').fill(amount);
  await page.getByRole('button', { name: 'Send for approval' }).click();
  await expect(page).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();
  await waitForHydration(page);
  return page.url().split('/').pop() as string;
}

/** The pending push request on the sandbox phone for this payee. */
export function pushFor(phonePage: Page, payee: string) {
  return phonePage
    .getByTestId('push')
    .filter({ hasText: `Please authorize payment to ${payee}` })
    .filter({ has: phonePage.getByRole('button', { name: 'Approve' }) });
}
