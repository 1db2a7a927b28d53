import { test, expect, Page } from '@playwright/test';
import { logIn, newUser, openPhone, pushFor, register, sendPayment, verifyWithCodeFrom, waitForHydration } from '../tests/helpers';

// `make screenshots`: the main screens at a desktop and a phone width, in docs/screenshots/.
const sizes = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
];

for (const size of sizes) {
  test.describe(size.name, () => {
    test.use({ viewport: size.viewport, timezoneId: 'UTC', locale: 'en-GB' });

    test(`the main screens (${size.name})`, async ({ page, context }) => {
      test.setTimeout(120_000);
      const shot = async (p: Page, name: string) => {
        // A tab in the background is not painted: bring it to the front first.
        await p.bringToFront();
        await p.screenshot({
          path: `../docs/screenshots/${size.name}-${name}.png`,
          fullPage: true,
          animations: 'disabled',
        });
      };
      await page.goto('/');
      await waitForHydration(page);
      await shot(page, '1-home');

      const user = newUser();
      await register(page, user);
      await waitForHydration(page);
      await shot(page, '2-verify');
      const phone = await openPhone(context, user.phone);
      await verifyWithCodeFrom(page, phone);
      await waitForHydration(page);
      await shot(page, '3-send');

      await sendPayment(page, 'Neville Longbottom', '1,000.00');
      await shot(page, '4-waiting');
      await phone.reload();
      await waitForHydration(phone);
      await shot(phone, '5-sandbox-phone');
      await pushFor(phone, 'Neville Longbottom').getByRole('button', { name: 'Approve' }).click();
      await expect(page.getByTestId('receipt')).toBeVisible();
      await shot(page, '6-approved');

      await sendPayment(page, 'Draco Malfoy', '20');
      await phone.reload();
      await waitForHydration(phone);
      await pushFor(phone, 'Draco Malfoy').getByRole('button', { name: 'Deny' }).click();
      await expect(page.getByTestId('not-you')).toBeVisible();
      await shot(page, '7-denied');

      // After a denial the next payment needs a fresh sign-in.
      await context.clearCookies();
      await logIn(page, user.email, user.password);
      await expect(page).toHaveURL(/\/payments\/new$/);
      await sendPayment(page, 'Luna Lovegood', '12.50');
      await page.goto('/payments');
      await waitForHydration(page);
      await shot(page, '8-my-payments');
    });
  });
}
