import { test, expect } from '@playwright/test';
import { newUser, openPhone, pushFor, registerVerified, sendPayment, waitForHydration } from './helpers';

test.describe('My payments on a phone', () => {
  test.use({ viewport: { width: 390, height: 800 } });

  test('cards instead of a table, payee and amount as links, and a filter for what waits', async ({
    page,
    context,
  }) => {
    const user = newUser();
    await registerVerified(page, context, user);
    const waitingId = await sendPayment(page, 'Oliver', '15');
    const approvedId = await sendPayment(page, 'Katie', '25');
    const phone = await openPhone(context, user.phone);
    await pushFor(phone, 'Katie').getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByTestId('receipt')).toBeVisible();

    await page.goto('/payments');
    await waitForHydration(page);
    // No sideways scrolling: each payment is a card as wide as the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expect(page.locator('table.list thead')).toHaveCSS('position', 'absolute');
    const waitingRow = page.locator(`[data-payment-id="${waitingId}"]`);
    await expect(waitingRow).toHaveCSS('display', 'grid');
    const approvedRow = page.locator(`[data-payment-id="${approvedId}"]`);
    await expect(approvedRow.getByTestId('status')).toHaveText('Approved');

    // A payment still waiting says so and leads to its waiting page.
    await expect(waitingRow.getByTestId('waiting-for-you')).toHaveText('Waiting for you');
    await waitingRow.getByRole('link', { name: 'Oliver' }).click();
    await expect(page).toHaveURL(new RegExp(`/payments/${waitingId}$`));
    await expect(page.getByText('Waiting for approval on your phone')).toBeVisible();

    await page.goto('/payments');
    await waitForHydration(page);
    await page.getByTestId('filter-waiting').click();
    await expect(page).toHaveURL(/\/payments\?waiting=1$/);
    await expect(page.getByTestId('payment-row')).toHaveCount(1);
    await expect(page.getByTestId('payment-row')).toHaveAttribute('data-payment-id', waitingId);
    await expect(page.getByTestId('filter-waiting')).toHaveAttribute('aria-current', 'page');
  });
});
