import { test, expect } from '@playwright/test';
import {
  latestCode,
  newUser,
  openPhone,
  pushFor,
  registerVerified,
  sendPayment,
  waitForHydration,
  withSandboxFault,
} from './helpers';

const smsCode = /Your Payfriend code is (\d{6,10})$/;

test('a payment approved on the phone shows its receipt, and as approved in My payments', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  const id = await sendPayment(page, 'Neville Longbottom', '1,000.00');
  await expect(page.getByTestId('amount')).toHaveText('$1,000.00');
  await expect(page).toHaveTitle('Neville Longbottom: Pending · Payfriend');

  const phone = await openPhone(context, user.phone);
  const push = pushFor(phone, 'Neville Longbottom');
  await expect(push).toContainText('Sending to');
  await expect(push).toContainText('$1,000.00');
  await push.getByRole('button', { name: 'Approve' }).click();
  await expect(phone.getByRole('status')).toContainText('approved');

  // The page itself becomes the receipt.
  const receipt = page.getByTestId('receipt');
  await expect(receipt).toContainText('Neville Longbottom');
  await expect(receipt).toContainText('$1,000.00');
  await expect(receipt.getByTestId('reference')).toHaveText(id);
  await expect(receipt.getByTestId('approved-with')).toHaveText('The approval request on your phone');
  await expect(page.getByTestId('announcement')).toHaveText('Payment approved.');
  await expect(page).toHaveTitle('Neville Longbottom: Approved · Payfriend');
  await expect(page.getByTestId('timeline')).toContainText('Approved on your phone');

  await page.getByRole('link', { name: 'My payments' }).first().click();
  const row = page.locator(`[data-payment-id="${id}"]`);
  await expect(row).toContainText('Neville Longbottom');
  await expect(row).toContainText('$1,000.00');
  await expect(row.getByTestId('status')).toHaveText('Approved');
});

test('a payment denied on the phone says so, with what to do if it was not you', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Draco', '20');

  const phone = await openPhone(context, user.phone);
  await pushFor(phone, 'Draco').getByRole('button', { name: 'Deny' }).click();

  await expect(page.getByText('You denied this payment on your phone. Nothing was paid.')).toBeVisible();
  await expect(page.getByTestId('not-you')).toContainText("Didn't ask for this?");
  // Not styled as the person's error.
  await expect(page.locator('.notice.error')).toHaveCount(0);
  await expect(page).toHaveTitle('Draco: Denied · Payfriend');
  await page.goto('/payments');
  await expect(page.getByTestId('payment-row').first().getByTestId('status')).toHaveText('Denied');
});

test('without an answer the SMS code is offered after 15 seconds, and the code approves the payment', async ({
  page,
  context,
}) => {
  test.setTimeout(90_000);
  const user = newUser();
  await registerVerified(page, context, user);
  const id = await sendPayment(page, 'Luna', '20.5');
  const offer = page.getByRole('button', { name: 'Having trouble? Get a code by SMS instead' });
  // Measured from the payment's creation on the server (whole seconds), not from when the
  // page was ready: the offer is due at created_at + 15 s on the server's clock.
  const view = await page.waitForResponse((r) => r.url().includes('/api/get_payment') && r.ok());
  const { created_at, id: polled } = (await view.json()) as { created_at: number; id: string };
  expect(polled).toBe(id);
  const createdAtMs = created_at * 1000;

  await expect(offer).toBeHidden();
  await expect(offer).toBeVisible({ timeout: 25_000 });
  const shownAfter = Date.now() - createdAtMs;
  expect(shownAfter).toBeGreaterThanOrEqual(15_000);
  expect(shownAfter).toBeLessThan(15_000 + 5_000);
  await offer.click();
  const phone = await openPhone(context, user.phone);
  await expect(phone.getByTestId('sms').first()).toContainText('Verify payment to Luna for $20.50');
  const code = await latestCode(phone, smsCode);
  await page.getByLabel('SMS code').fill(code);
  await page.getByRole('button', { name: 'Approve with this code' }).click();

  await expect(page.getByTestId('approved-with')).toHaveText('A code sent to your phone by SMS');
  await page.goto('/payments');
  await expect(page.getByTestId('payment-row').first().getByTestId('status')).toHaveText('Approved');
});

test('five wrong SMS codes fail the payment for good', async ({ page, context }) => {
  test.setTimeout(120_000);
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Goyle', '5');
  await page
    .getByRole('button', { name: 'Having trouble? Get a code by SMS instead' })
    .click({ timeout: 25_000 });
  const phone = await openPhone(context, user.phone);
  const code = await latestCode(phone, smsCode);
  const wrong = code === '0000000' ? '1111111' : '0000000';

  // The tries are counted from the start, not only after a mistake.
  await expect(page.getByTestId('tries-left')).toContainText('5 tries left.');
  for (const left of [4, 3, 2, 1]) {
    await page.getByLabel('SMS code').fill(wrong);
    await page.getByRole('button', { name: 'Approve with this code' }).click();
    await expect(page.getByRole('alert')).toContainText(`${left} attempt${left === 1 ? '' : 's'} left`);
    await expect(page.getByTestId('tries-left')).toContainText(`${left} ${left === 1 ? 'try' : 'tries'} left.`);
  }
  await page.getByLabel('SMS code').fill(wrong);
  await page.getByRole('button', { name: 'Approve with this code' }).click();

  await expect(page.getByTestId('status')).toHaveText('Failed');
  await expect(page.getByText('Too many wrong SMS codes.')).toBeVisible();
  await expect(page.getByLabel('SMS code')).toBeHidden();
  const timeline = page.getByTestId('timeline');
  await expect(timeline).toContainText('Wrong SMS code entered');
  await expect(timeline).toContainText('Failed: too many wrong SMS codes');
});

test('the waiting page checks the status about every 3 seconds', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  const polls: number[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/get_payment')) polls.push(Date.now());
  });
  await sendPayment(page, 'Hagrid', '3');
  const start = Date.now();

  await page.waitForTimeout(10_000);

  const inWindow = polls.filter((t) => t >= start);
  expect(inWindow.length).toBeGreaterThanOrEqual(2);
  expect(inWindow.length).toBeLessThanOrEqual(5);
});

test('amounts that are not money are refused next to the field', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await page.goto('/payments/new');
  await waitForHydration(page);
  await page.getByLabel('Send to').fill('Neville');
  // The field says which currency (CURRENCY, USD by default) and how it is typed.
  await expect(page.getByLabel('Amount (USD)')).toHaveAccessibleDescription(/20\.50/);

  for (const [amount, message] of [
    ['-5', 'more than zero'],
    ['20.555', 'at most two decimals'],
    ['lots', 'as a number'],
    ['100000000', 'too large'],
  ]) {
    await page.getByLabel('Amount').fill(amount);
    await page.getByRole('button', { name: 'Send for approval' }).click();
    await expect(page.locator('#amount-error')).toContainText(message);
  }
  await expect(page).toHaveURL(/\/payments\/new$/);
  await expect(page.getByLabel('Send to')).toHaveValue('Neville');
});

test('a payee with HTML in it is shown as text everywhere', async ({ page, context }) => {
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const payee = '<img src=x onerror=alert(1)>';
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, payee, '1');
  await expect(page.getByRole('heading', { name: payee })).toBeVisible();

  const phone = await openPhone(context, user.phone);
  phone.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await expect(pushFor(phone, payee)).toBeVisible();
  await page.goto('/payments');
  await expect(page.getByTestId('payment-row').first()).toContainText(payee);
  expect(dialogs).toEqual([]);
});

test('when the provider fails the page says so and the payment is failed, not pending', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  const phone = await openPhone(context, user.phone);
  await withSandboxFault(phone, 'Answer HTTP 503', async () => {
    await page.goto('/payments/new');
    await waitForHydration(page);
    await page.getByLabel('Send to').fill('Ron');
    await page.getByLabel('Amount').fill('7');
    await page.getByRole('button', { name: 'Send for approval' }).click();
    await expect(page.getByRole('alert')).toContainText('The phone service is not answering right now');
    await page.goto('/payments');
    const row = page.getByTestId('payment-row').filter({ hasText: 'Ron' });
    await expect(row.getByTestId('status')).toHaveText('Failed');
  });
});

test('a status check that fails keeps the payment on the page, says so, and recovers by itself', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Hermione', '42.00');

  // The network drops every status check for a while.
  await page.route('**/api/get_payment*', (route) => route.abort('connectionreset'));
  await expect(page.getByTestId('reconnecting')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('amount')).toHaveText('$42.00');
  await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();

  // Meanwhile the person approves on the phone; then the network comes back.
  const phone = await openPhone(context, user.phone);
  await pushFor(phone, 'Hermione').getByRole('button', { name: 'Approve' }).click();
  await expect(phone.getByRole('status')).toContainText('approved');
  await page.unroute('**/api/get_payment*');

  await expect(page.getByTestId('receipt')).toBeVisible({ timeout: 40_000 });
  await expect(page.getByTestId('reconnecting')).toBeHidden();
});
