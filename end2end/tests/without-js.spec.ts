import { test, expect } from '@playwright/test';
import { latestCode, newUser, openPhone } from './helpers';

// The whole way to a waiting payment with JavaScript off: server-rendered forms only.
test('with JavaScript off a person registers, verifies, sends a payment and sees it wait', async ({ browser, context }) => {
  const user = newUser();
  const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 800 } });
  const page = await noJs.newPage();

  await page.goto('/register');
  // On a narrow screen before any script, the navigation is shown, not behind a menu button.
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Log in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Menu' })).toBeHidden();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Mobile number').fill(user.phone);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/verify$/);

  // The code, read on the sandbox phone (a page with scripts, like a real phone's).
  const phone = await openPhone(context, user.phone);
  const code = await latestCode(phone);
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/payments\/new$/);

  await page.getByLabel('Send to').fill('Luna Lovegood');
  await page.getByLabel('Amount').fill('12.34');
  await page.getByRole('button', { name: 'Send for approval' }).click();
  await expect(page).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();
  await expect(page.getByTestId('amount')).toHaveText('$12.34');
  // The countdown is in the server-rendered page, from the server's clock.
  await expect(page.getByTestId('countdown')).toContainText(/expires in (5:00|4:[45]\d)\./);
  // Cancelling works as a plain form too.
  await expect(page.getByRole('button', { name: 'Cancel payment' })).toBeVisible();
  // It never sits stale: a link to check, and the page reloads itself.
  const check = page.getByTestId('check-status');
  await expect(check).toHaveAttribute('href', new URL(page.url()).pathname);
  await expect(page.locator('noscript')).toHaveCount(1);
  await noJs.close();
});
