import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import {
  logIn,
  newUser,
  openPhone,
  pushFor,
  register,
  sendPayment,
  verifyWithCodeFrom,
  waitForHydration,
  withSandboxFault,
} from './helpers';

/** The page's WCAG 2.1 A and AA violations found by axe, as readable lines. */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
}

async function check(page: Page, what: string) {
  await waitForHydration(page);
  // After a client-side navigation to a lazily loaded page the old page stays, dimmed and
  // busy, until the new one's code has arrived: check the page that was asked for.
  await expect(page.locator('main[aria-busy="true"]')).toHaveCount(0);
  expect(await violations(page), what).toEqual([]);
}

/** The contrast ratio of a CSS rgb() colour against white (WCAG relative luminance). */
function contrastWithWhite(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+/g) ?? []).slice(0, 3).map((c) => {
    const s = Number(c) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (luminance + 0.05);
}

test('the accessibility check finds violations where there are some', async ({ page }) => {
  await page.setContent('<html><body><img src="/favicon.svg"><input type="text"></body></html>');
  const found = await violations(page);
  expect(found.some((v) => v.startsWith('image-alt'))).toBe(true);
  expect(found.some((v) => v.startsWith('label'))).toBe(true);
});

test('every page passes axe with no violations', async ({ page, context }) => {
  test.setTimeout(150_000);
  // The browser's clock can be moved (to see a request expire on the page).
  await page.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + Number(localStorage.getItem('clockOffset') ?? 0);
  });
  await page.goto('/');
  await check(page, 'home');
  await page.goto('/login');
  await check(page, 'log in');

  const user = newUser();
  await register(page, user);
  await check(page, 'verify');
  const phone = await openPhone(context, user.phone);
  await check(phone, 'sandbox phone');
  await verifyWithCodeFrom(page, phone);
  await check(page, 'send a payment');

  await sendPayment(page, 'Neville', '10');
  await check(page, 'waiting, with its timeline');
  await phone.reload();
  await pushFor(phone, 'Neville').getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('receipt')).toBeVisible();
  await check(page, 'approved');

  await sendPayment(page, 'Draco', '5');
  await phone.reload();
  await pushFor(phone, 'Draco').getByRole('button', { name: 'Deny' }).click();
  await expect(page.getByTestId('not-you')).toBeVisible();
  await check(page, 'denied');

  // After a denial the next payment needs a fresh sign-in (someone else may know the
  // password): the form says so.
  await page.getByRole('navigation').getByRole('link', { name: 'Send a payment' }).click();
  await page.getByLabel('Send to').fill('Crabbe');
  await page.getByLabel('Amount').fill('3');
  await page.getByRole('button', { name: 'Send for approval' }).click();
  await expect(page.getByRole('alert')).toContainText('log out and log in again');
  await check(page, 'send a payment, after a denial');
  await page.getByRole('button', { name: 'Log out' }).click();
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/payments\/new$/);

  await sendPayment(page, 'Crabbe', '3');
  await page.getByRole('button', { name: 'Cancel payment' }).click();
  await expect(page.getByTestId('try-again')).toBeVisible();
  await check(page, 'cancelled');

  // Expired, as the page shows it at zero: the status checks are held off, since the
  // server's answer would set the page's clock right again.
  await sendPayment(page, 'Pansy', '4');
  await page.route('**/api/get_payment*', (route) => route.abort('connectionreset'));
  await page.evaluate(() => localStorage.setItem('clockOffset', '301000'));
  await expect(page.getByTestId('status')).toHaveText('Expired');
  await check(page, 'expired');
  await page.evaluate(() => localStorage.removeItem('clockOffset'));
  await page.unroute('**/api/get_payment*');

  // Failed: the phone service refuses the approval request.
  await withSandboxFault(phone, 'Answer HTTP 503', async () => {
    await page.goto('/payments/new');
    await waitForHydration(page);
    await page.getByLabel('Send to').fill('Goyle');
    await page.getByLabel('Amount').fill('2');
    await page.getByRole('button', { name: 'Send for approval' }).click();
    await expect(page.getByRole('alert')).toContainText('The phone service is not answering right now');
    await check(page, 'send a payment, with the provider down');
  });
  await page.goto('/payments');
  await waitForHydration(page);
  await page.getByTestId('payment-row').filter({ hasText: 'Goyle' }).getByRole('link', { name: 'Goyle' }).click();
  // The payment page comes in a chunk of its own: the list stays until it has arrived.
  await expect(page.getByRole('heading', { level: 1, name: 'Goyle' })).toBeVisible();
  await expect(page.getByTestId('status')).toHaveText('Failed');
  await check(page, 'failed');

  await page.goto('/payments');
  await check(page, 'my payments');

  // The register page, and form errors, signed out.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.goto('/register');
  await check(page, 'register');
  await page.getByRole('button', { name: 'Create account' }).click();
  await check(page, 'register with errors');
  await logIn(page, user.email, 'wrong password');
  await expect(page.getByRole('alert')).toBeVisible();
  await check(page, 'log in with an error');
});

test('form fields: hints read with the field, borders at 3:1 or more, errors announced', async ({ page }) => {
  await page.goto('/register');
  await waitForHydration(page);
  const phone = page.getByLabel('Mobile number');
  await expect(phone).toHaveAttribute('aria-describedby', 'phone-hint phone-error');
  await expect(page.locator('#phone-hint')).toContainText('country code');
  await expect(phone).toHaveAccessibleDescription(/country code/);
  const email = page.getByLabel('Email');
  const border = await email.evaluate((e) => getComputedStyle(e).borderTopColor);
  expect(contrastWithWhite(border)).toBeGreaterThanOrEqual(3);

  await email.fill('someone@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await phone.fill('12');
  await page.getByRole('button', { name: 'Create account' }).click();
  const error = page.locator('#phone-error');
  await expect(error).toHaveAttribute('role', 'alert');
  await expect(phone).toHaveAttribute('aria-invalid', 'true');
  await expect(phone).toHaveAccessibleDescription(/country code.+/);
});

test('after a navigation, focus is on the new page’s heading', async ({ page, context }) => {
  const user = newUser();
  await register(page, user);
  await verifyWithCodeFrom(page, await openPhone(context, user.phone));
  await waitForHydration(page);
  await page.getByRole('navigation').getByRole('link', { name: 'My payments' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'My payments' })).toBeFocused();
  await page.getByRole('link', { name: 'Send a payment' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Send a payment' })).toBeFocused();
});
