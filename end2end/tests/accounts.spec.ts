import { test, expect } from '@playwright/test';
import {
  latestCode,
  logIn,
  newUser,
  openPhone,
  register,
  registerVerified,
  waitForHydration,
} from './helpers';

test('a new user registers, reads the code on the sandbox phone, verifies and lands on Send a payment', async ({
  page,
  context,
}) => {
  const user = newUser();

  await register(page, user);
  await expect(page.getByText(`We sent a code to ${user.phone}`)).toBeVisible();
  const phone = await openPhone(context, user.phone);
  await expect(phone.getByRole('note')).toContainText('Sandbox');
  const code = await latestCode(phone);
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();

  await expect(page).toHaveURL(/\/payments\/new$/);
  await expect(page.getByRole('heading', { name: 'Send a payment' })).toBeVisible();
  await expect(page.getByTestId('signed-in-as')).toHaveText(user.email);
});

test('a user logs out and logs in again', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('#nav-links').getByRole('link', { name: 'Log in' })).toBeVisible();
  await logIn(page, user.email, user.password);

  await expect(page).toHaveURL(/\/payments\/new$/);
  await expect(page.getByTestId('signed-in-as')).toHaveText(user.email);
});

test('a wrong code is refused and a new code can be sent', async ({ page, context }) => {
  const user = newUser();
  await register(page, user);
  const phone = await openPhone(context, user.phone);
  const first = await latestCode(phone);
  const wrong = first === '000000' ? '111111' : '000000';

  await page.getByLabel('Verification code').fill(wrong);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText('That code is not correct')).toBeVisible();
  await expect(page).toHaveURL(/\/verify$/);

  await page.getByRole('button', { name: 'Send a new code' }).click();
  await expect(page.getByText('A new code is on its way.')).toBeVisible();
  await expect(phone.getByTestId('sms')).toHaveCount(2);
  const second = await latestCode(phone);
  await page.getByLabel('Verification code').fill(second);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/payments\/new$/);
});

test('registering an email twice gets a clear error next to the email', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);

  await page.goto('/register');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('another password');
  await page.getByLabel('Mobile number').fill(newUser().phone);
  await page.getByRole('button', { name: 'Create account' }).click();

  await expect(page.locator('#email-error')).toHaveText(/already exists/);
  await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/register$/);
});

test('bad registration input is refused field by field', async ({ page }) => {
  await page.goto('/register');
  await waitForHydration(page);
  await page.getByLabel('Email').fill('someone@example.com');
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Mobile number').fill('+1 201 555 0100');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#password-error')).toContainText('at least 8 characters');

  await page.getByLabel('Password').fill('long enough now');
  await page.getByLabel('Mobile number').fill('12');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#phone-error')).toContainText('valid mobile number');
  await expect(page.getByLabel('Email')).toHaveValue('someone@example.com');
});

test('a wrong password or an unknown email gets the same answer', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);

  await logIn(page, user.email, 'not the password');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Email or password is incorrect.');
  const known = await alert.textContent();
  await logIn(page, `nobody-${Date.now()}@example.com`, user.password);
  await expect(alert).toContainText('Email or password is incorrect.');

  expect(await alert.textContent()).toBe(known);
  await expect(page).toHaveURL(/\/login$/);
});

test('five failed logins lock sign-in and the page counts down the attempts', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);

  for (const left of [4, 3, 2, 1]) {
    await logIn(page, user.email, 'wrong password');
    await expect(page.getByRole('alert')).toContainText(`${left} attempt${left === 1 ? '' : 's'} left`);
  }
  await logIn(page, user.email, 'wrong password');
  await expect(page.getByRole('alert')).toContainText('Sign-in is locked');
  await logIn(page, user.email, user.password);

  await expect(page.getByRole('alert')).toContainText('Sign-in is locked');
  await expect(page).toHaveURL(/\/login$/);
});

test('payment pages send a signed-out visitor to log in', async ({ page }) => {
  await page.goto('/payments/new');
  await expect(page).toHaveURL(/\/login$/);
});

test('an unverified user is sent to verification before any payment page', async ({ page }) => {
  await register(page, newUser());
  await page.goto('/payments/new');
  await expect(page).toHaveURL(/\/verify$/);
});

test('logging in works before (and without) the Wasm client', async ({ page, context, browser }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();

  await plain.goto('/login');
  await plain.getByLabel('Email').fill(user.email);
  await plain.getByLabel('Password').fill(user.password);
  await plain.getByRole('button', { name: 'Log in' }).click();

  await expect(plain).toHaveURL(/\/payments\/new$/);
  await expect(plain.getByRole('heading', { name: 'Send a payment' })).toBeVisible();
  await noJs.close();
});
