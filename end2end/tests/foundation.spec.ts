import { test, expect } from '@playwright/test';
import { waitForHydration } from './helpers';

test('the start page is served with the navigation', async ({ page }) => {
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Payments you approve on your phone');
  await expect(page.getByRole('link', { name: 'Payfriend' })).toBeVisible();
  await expect(page).toHaveTitle('Payfriend');
});

test('the menu button opens the navigation on a phone once the page has hydrated', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto('/');
  const menu = page.getByRole('button', { name: 'Menu' });
  const logIn = page.locator('#nav-links').getByRole('link', { name: 'Log in' });
  await expect(logIn).toBeHidden();

  await waitForHydration(page);
  await menu.click();

  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(logIn).toBeVisible();
});

test('an unknown address shows the not-found page with status 404', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
