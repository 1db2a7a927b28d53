import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { latestCode, newUser, openPhone, registerVerified, sendPayment, waitForHydration } from './helpers';

// The passkey server of playwright.config.ts: PUBLIC_URL names it `localhost`, which
// browsers accept as a WebAuthn relying party (an IP address they refuse).
const PASSKEY_SERVER = `http://localhost:${Number(process.env.E2E_PORT ?? 3100) + 3}`;
test.use({ baseURL: PASSKEY_SERVER });

/**
 * Chromium's virtual authenticator (DevTools protocol) on this page: a platform
 * authenticator with user verification (a fingerprint or PIN that `isUserVerified` says
 * passed or failed).
 */
async function virtualAuthenticator(page: Page, isUserVerified = true) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified,
      automaticPresenceSimulation: true,
    },
  });
  return {
    remove: () => cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    setVerified: (verified: boolean) =>
      cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: verified }),
  };
}

/** A verified user who added a passkey named `name` on the account page. */
async function userWithPasskey(page: Page, name: string) {
  const user = newUser();
  await registerVerified(page, page.context(), user);
  const authenticator = await virtualAuthenticator(page);
  await page.goto('/account');
  await waitForHydration(page);
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await expect(page.getByText('Code sent. Enter it below.')).toBeVisible();
  const phonePage = await openPhone(page.context(), user.phone);
  const code = await latestCode(phonePage);
  await phonePage.close();
  await page.bringToFront();
  await page.getByLabel('Name for this passkey').fill(name);
  await page.getByLabel('Code from the SMS').fill(code);
  await page.getByRole('button', { name: 'Add passkey' }).click();
  await expect(page.getByTestId('passkey-added')).toBeVisible();
  await expect(page.getByTestId('passkey')).toHaveCount(1);
  await expect(page.getByTestId('passkey')).toContainText(name);
  await expect(page.getByTestId('passkey')).toContainText('Not used yet.');
  expect(await authenticator.credentials()).toHaveLength(1);
  return { user, authenticator };
}

async function axeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help}`);
}

test('add a passkey after an SMS code, then approve a payment with it', async ({ page }) => {
  await userWithPasskey(page, 'Test laptop');
  expect(await axeViolations(page)).toEqual([]);

  await sendPayment(page, 'Passkey Shop', '12.50');
  const prompt = page.getByTestId('passkey-prompt');
  await expect(prompt).toContainText('$12.50');
  await expect(prompt).toContainText('Passkey Shop');
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Approve with passkey' }).click();

  await expect(page.getByTestId('announcement')).toHaveText('Payment approved.');
  await expect(page.getByTestId('approved-with')).toHaveText('Your passkey');
  await expect(page.getByTestId('timeline')).toContainText('Your passkey confirmed the payment');
  await expect(page.getByTestId('timeline')).toContainText('Approved with your passkey');

  await page.goto('/account');
  await waitForHydration(page);
  await expect(page.getByTestId('passkey')).toContainText('Last used');
});

test('a cancelled prompt or a missing authenticator approves nothing, with a clear message', async ({ page }) => {
  const { authenticator } = await userWithPasskey(page, 'Phone');
  await sendPayment(page, 'Cancel Shop', '3.00');

  // The person does not pass the fingerprint or PIN check (the browser reports it as a
  // cancelled prompt).
  await authenticator.setVerified(false);
  await page.getByRole('button', { name: 'Approve with passkey' }).click();
  await expect(page.getByTestId('passkey-error')).toContainText('cancelled or timed out');
  await expect(page.getByTestId('announcement')).toHaveText('Waiting for your approval on your phone.');

  // The authenticator is gone (another device with no passkey for this account).
  await authenticator.remove();
  await virtualAuthenticator(page);
  await page.getByRole('button', { name: 'Approve with passkey' }).click();
  await expect(page.getByTestId('passkey-error')).toContainText('no passkey for this account');
  await expect(page.getByTestId('announcement')).toHaveText('Waiting for your approval on your phone.');
});

test('a passkey can be removed, and then is not offered', async ({ page }) => {
  await userWithPasskey(page, 'Old key');
  await page.getByRole('button', { name: 'Remove Old key' }).click();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  await sendPayment(page, 'Nobody', '1.00');
  await expect(page.getByRole('button', { name: 'Approve with passkey' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Add a passkey' })).toBeVisible();
});
