import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { latestCode, newUser, openPhone, register, sendPayment, waitForHydration } from './helpers';

// The Verify server of playwright.config.ts: PAYFRIEND_PROVIDER=verify with the sandbox's
// Verify wire, at `localhost` (so that passkeys work too).
const VERIFY_SERVER = `http://localhost:${Number(process.env.E2E_PORT ?? 3100) + 4}`;
test.use({ baseURL: VERIFY_SERVER });

/** Verify's SMS: "Your Payfriend verification code is: 123456. Amount: .... Payee: ...." */
const VERIFY_CODE = /code is: (\d{4,10})\./;

async function axeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help}`);
}

/** The code of the newest SMS once it is the one that names `payee`. */
async function codeFor(phone: Page, payee: string): Promise<string> {
  await expect(phone.getByTestId('sms').first()).toContainText(`Payee: ${payee}.`);
  return latestCode(phone, VERIFY_CODE);
}

test('with Twilio Verify: register, add the phone for push, approve by push, by SMS code and by passkey', async ({
  page,
  context,
}) => {
  test.setTimeout(150_000);
  const user = newUser();
  await register(page, user);
  const phone = await openPhone(context, user.phone);
  const code = await codeFor(phone, 'Payfriend: confirm your phone number');
  await page.bringToFront();
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/payments\/new$/);

  // The phone as a push device: an SMS code, then the enrolment code for the phone's app.
  await page.getByRole('navigation').getByRole('link', { name: 'Account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await waitForHydration(page);
  const push = page.locator('section.push-device');
  await expect(push.getByTestId('no-push-device')).toBeVisible();
  await push.getByRole('button', { name: 'Text me a code' }).click();
  await expect(push.getByText('Code sent. Enter it below.')).toBeVisible();
  const stepUp = await codeFor(phone, 'Your code to add a phone for push approvals to Payfriend');
  await push.getByLabel('Code from the SMS').fill(stepUp);
  await push.getByRole('button', { name: 'Get an enrolment code' }).click();
  const enrolment = push.getByTestId('enrolment-code');
  await expect(enrolment).toBeVisible();
  const token = ((await enrolment.textContent()) ?? '').trim();
  expect(await axeViolations(page)).toEqual([]);
  await phone.bringToFront();
  expect(await axeViolations(phone)).toEqual([]);
  await phone.getByLabel('Enrolment code from Payfriend').fill(token);
  await phone.getByRole('button', { name: 'Add this phone' }).click();
  await expect(phone.getByTestId('paired')).toContainText('This phone now approves with push');
  // The account page sees it by itself (it looks every 3 seconds).
  await page.bringToFront();
  await expect(push.getByTestId('push-device-added')).toBeVisible();

  // 1. By push: the phone shows payee, amount and the payment's reference.
  const pushed = await sendPayment(page, 'Verify Books', '39.99');
  await phone.bringToFront();
  const request = phone
    .getByTestId('push')
    .filter({ hasText: 'Please authorize payment to Verify Books' })
    .filter({ has: phone.getByRole('button', { name: 'Approve' }) });
  await expect(request).toContainText('Payee');
  await expect(request).toContainText('$39.99');
  await expect(request).toContainText(pushed);
  await request.getByRole('button', { name: 'Approve' }).click();
  await page.bringToFront();
  await expect(page.getByTestId('announcement')).toHaveText('Payment approved.');

  // 2. By an SMS code bound to this payment (offered after 15 seconds).
  await sendPayment(page, 'Code Shop', '7');
  await page.getByRole('button', { name: 'Having trouble? Get a code by SMS instead' }).click({ timeout: 25_000 });
  await expect(page.getByLabel('SMS code')).toBeVisible();
  await phone.bringToFront();
  const smsCode = await codeFor(phone, 'Code Shop');
  await expect(phone.getByTestId('sms').first()).toContainText('Amount: $7.00.');
  await page.bringToFront();
  await page.getByLabel('SMS code').fill(smsCode);
  await page.getByRole('button', { name: 'Approve with this code' }).click();
  await expect(page.getByTestId('announcement')).toHaveText('Payment approved.');
  await expect(page.getByTestId('timeline')).toContainText('Approved with the SMS code');

  // 3. By a passkey (added after an SMS code of its own).
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto('/account');
  await waitForHydration(page);
  const passkeys = page.locator('section.passkeys');
  await passkeys.getByRole('button', { name: 'Text me a code' }).click();
  await expect(passkeys.getByText('Code sent. Enter it below.')).toBeVisible();
  const passkeyCode = await codeFor(phone, 'Your code to add a passkey to Payfriend');
  await passkeys.getByLabel('Name for this passkey').fill('Verify laptop');
  await passkeys.getByLabel('Code from the SMS').fill(passkeyCode);
  await passkeys.getByRole('button', { name: 'Add passkey' }).click();
  await expect(page.getByTestId('passkey-added')).toBeVisible();
  await sendPayment(page, 'Passkey Shop', '12.50');
  await page.getByRole('button', { name: 'Approve with passkey' }).click();
  await expect(page.getByTestId('announcement')).toHaveText('Payment approved.');
  await expect(page.getByTestId('approved-with')).toHaveText('Your passkey');

  // The list shows each payment with its outcome.
  await page.goto('/payments');
  await waitForHydration(page);
  for (const payee of ['Verify Books', 'Code Shop', 'Passkey Shop']) {
    await expect(page.getByTestId('payment-row').filter({ hasText: payee })).toContainText(/approved/i);
  }
});
