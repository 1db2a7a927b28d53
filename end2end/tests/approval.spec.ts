import { test, expect } from '@playwright/test';
import { newUser, openPhone, pushFor, register, registerVerified, sendPayment, verifyWithCodeFrom, waitForHydration } from './helpers';

test('a waiting payment can be cancelled; a late approval changes nothing; it can be tried again', async ({
  page,
  context,
}) => {
  const user = newUser();
  await registerVerified(page, context, user);
  const id = await sendPayment(page, 'Crabbe', '12.5');

  await page.getByRole('button', { name: 'Cancel payment' }).click();
  await expect(page.getByText('You cancelled this payment. Nothing was paid.')).toBeVisible();
  await expect(page.getByTestId('status')).toHaveText('Cancelled');
  await expect(page.getByTestId('announcement')).toHaveText('Payment cancelled. Nothing was paid.');
  await expect(page).toHaveTitle('Crabbe: Cancelled · Payfriend');
  await expect(page.getByTestId('timeline')).toContainText('Cancelled by you');

  // The request on the phone was left to expire; answering it now does not move the payment.
  const phone = await openPhone(context, user.phone);
  await pushFor(phone, 'Crabbe').getByRole('button', { name: 'Approve' }).click();
  await expect(phone.getByRole('status')).toContainText('409');
  await page.reload();
  await expect(page.getByTestId('status')).toHaveText('Cancelled');

  // Try again with the same details: the form is filled in, and sends a new payment.
  await page.getByTestId('try-again').click();
  await expect(page).toHaveURL(/\/payments\/new\?payee=Crabbe&amount=12\.50$/);
  await waitForHydration(page);
  await expect(page.getByLabel('Send to')).toHaveValue('Crabbe');
  await expect(page.getByLabel('Amount')).toHaveValue('12.50');
  await page.getByRole('button', { name: 'Send for approval' }).click();
  await expect(page).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  expect(page.url()).not.toContain(id);
  await expect(page.getByTestId('amount')).toHaveText('$12.50');
  await expect(page.getByTestId('status')).toHaveText('Pending');
});

test('the countdown runs on the server clock and reaches the expired state by itself', async ({ page, context }) => {
  // The browser's clock can be moved by the test (Date.now plus an offset kept across
  // reloads); the server's cannot.
  await page.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + Number(localStorage.getItem('clockOffset') ?? 0);
  });
  const moveBrowserClock = (ms: number) =>
    page.evaluate((ms) => localStorage.setItem('clockOffset', String(ms)), ms);
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Pansy', '3');
  const countdown = page.getByTestId('countdown');
  await expect(countdown).toContainText(/expires in (5:00|4:[45]\d)\./);

  // No status check gets through from here on: what follows is the page's own doing.
  await page.route('**/api/get_payment*', (route) => route.abort('connectionreset'));
  await moveBrowserClock(301_000);
  await expect(page.getByTestId('announcement')).toHaveText('The request expired. Nothing was paid.');
  await expect(page.getByTestId('status')).toHaveText('Expired');
  await expect(page.getByTestId('try-again')).toBeVisible();
  await expect(countdown).toBeHidden();

  // The browser's clock is five minutes ahead of the server's now: after a reload the
  // countdown is still the server's.
  await page.unroute('**/api/get_payment*');
  await page.reload();
  await waitForHydration(page);
  expect(await page.evaluate(() => Date.now() - new Date().getTime())).toBeGreaterThan(300_000);
  await expect(page.getByTestId('status')).toHaveText('Pending');
  await expect(countdown).toContainText(/expires in 4:[345]\d\./);
});

test('the SMS code is offered 15 seconds after the payment was made, even after a reload', async ({ page, context }) => {
  test.setTimeout(90_000);
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Dean', '8');
  const offer = page.getByRole('button', { name: 'Having trouble? Get a code by SMS instead' });
  await expect(offer).toBeHidden();

  // Most of the 15 seconds pass, then the page is loaded again: it does not start over.
  await page.waitForTimeout(10_000);
  await page.reload();
  await waitForHydration(page);
  const reloadedAt = Date.now();
  await expect(offer).toBeVisible({ timeout: 12_000 });
  expect(Date.now() - reloadedAt).toBeLessThan(10_000);
});

test('with the sandbox, the pages say where the phone is and open it for the person’s number', async ({
  page,
  context,
}) => {
  const user = newUser();
  await register(page, user);
  const banner = page.getByTestId('sandbox-banner');
  await expect(banner).toContainText('Development sandbox');
  const link = banner.getByRole('link', { name: /sandbox phone/ });
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(link).toHaveAttribute('href', `/sandbox/phone?phone=${encodeURIComponent(user.phone)}`);

  const [phone] = await Promise.all([context.waitForEvent('page'), link.click()]);
  await waitForHydration(phone);
  await verifyWithCodeFrom(page, phone);

  await sendPayment(page, 'Seamus', '2');
  await expect(page.getByTestId('sandbox-banner')).toBeVisible();
  await phone.reload();
  await expect(pushFor(phone, 'Seamus')).toBeVisible();
});

test('the request can be sent to the phone again, twice; the newest one approves', async ({ page, context }) => {
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Ginny', '6');
  await expect(page.getByTestId('resends-left')).toHaveText('(2 more times)');

  await page.getByRole('button', { name: 'Resend to my phone' }).click();
  await expect(page.getByTestId('resent')).toContainText('Sent again');
  await expect(page.getByTestId('resends-left')).toHaveText('(once more)');
  await page.getByRole('button', { name: 'Resend to my phone' }).click();
  await expect(page.getByTestId('resends-left')).toHaveText('(sent as often as it can be)');
  await expect(page.getByRole('button', { name: 'Resend to my phone' })).toBeDisabled();
  await expect(page.getByTestId('timeline')).toContainText('Approval request sent to your phone again');

  const phone = await openPhone(context, user.phone);
  await expect(phone.getByTestId('push').filter({ hasText: 'Ginny' })).toHaveCount(3);
  // The newest request is listed first.
  await pushFor(phone, 'Ginny').first().getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('receipt')).toBeVisible();
});

test('after an SMS code, a new one can be asked for once the cooldown has passed', async ({ page, context }) => {
  test.setTimeout(90_000);
  const user = newUser();
  await registerVerified(page, context, user);
  await sendPayment(page, 'Neville', '4');
  await page.getByRole('button', { name: 'Having trouble? Get a code by SMS instead' }).click({ timeout: 25_000 });
  await expect(page.getByLabel('SMS code')).toBeVisible();
  await expect(page.getByTestId('tries-left')).toContainText('5 tries left.');

  const newCode = page.getByRole('button', { name: 'Send a new code' });
  await expect(newCode).toBeDisabled();
  await expect(page.getByTestId('next-code')).toHaveText(/You can ask for a new one in 0:[0-3]\d\./);
  await expect(newCode).toBeEnabled({ timeout: 35_000 });
  await newCode.click();
  await expect(page.getByTestId('next-code')).toHaveText(/You can ask for a new one in 0:[23]\d\./);
  const phone = await openPhone(context, user.phone);
  await expect(phone.getByTestId('sms').filter({ hasText: 'Verify payment to Neville' })).toHaveCount(2);
});

test.describe('in the person’s own time zone', () => {
  test.use({ timezoneId: 'Asia/Kolkata', locale: 'en-GB' });

  test('times are UTC in the server-rendered page and local once the page runs', async ({ page, context }) => {
    const user = newUser();
    await registerVerified(page, context, user);
    const id = await sendPayment(page, 'Hannah', '9');

    // The first paint: UTC, from the server.
    const html = await (await page.request.get('/payments')).text();
    expect(html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    await page.goto('/payments');
    await waitForHydration(page);
    const time = page.locator(`[data-payment-id="${id}"] time`);
    await expect(time).not.toContainText('UTC');
    const datetime = (await time.getAttribute('datetime')) as string;
    const expected = await page.evaluate(
      (iso) => new Intl.DateTimeFormat([], { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
      datetime,
    );
    await expect(time).toHaveText(expected);
    // India is UTC+5:30: the minutes differ from the UTC ones by 30.
    const utcMinutes = new Date(datetime).getUTCMinutes();
    expect(expected).toContain(`:${String((utcMinutes + 30) % 60).padStart(2, '0')}`);
  });
});
