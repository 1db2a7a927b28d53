import { test, expect } from '@playwright/test';
import { IDLE_SERVER, newUser, registerVerified, sendPayment, logIn } from './helpers';

// This server ends sessions after 10 seconds without a request.
test.use({ baseURL: IDLE_SERVER });

test('an idle session ends, says so, and a waiting payment is resumed from My payments', async ({
  page,
  context,
}) => {
  test.setTimeout(60_000);
  const user = newUser();
  await registerVerified(page, context, user);
  const id = await sendPayment(page, 'Neville', '12');
  await page.goto('/payments');
  await expect(page.locator(`[data-payment-id="${id}"]`)).toBeVisible();

  // No request for longer than the idle limit.
  await page.waitForTimeout(12_000);
  await page.getByRole('link', { name: 'Send a payment' }).first().click();

  await expect(page).toHaveURL(/\/login\?session=expired$/);
  await expect(page.getByText('Your session expired after a period of inactivity.')).toBeVisible();
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/payments\/new$/);
  await page.goto('/payments');
  await page.locator(`[data-payment-id="${id}"]`).getByRole('link', { name: 'Neville' }).click();
  await expect(page).toHaveURL(new RegExp(`/payments/${id}$`));
  await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();
});
