import { expect, Page } from '@playwright/test';

/** Waits until the Wasm client has taken over the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('nav[data-hydrated="true"]')).toBeAttached();
}
