import { test, expect, type Page } from '@playwright/test';
import { newUser, registerVerified, sendPayment } from '../tests/helpers';

// `make bench`: how long a client-side navigation takes in the browser with the app open
// and a warm cache, from the click to the new page's <h1> in the document, measured by the
// page's own clock (performance.now). Figures to read, not a timed test: it prints them.

/** Milliseconds from the next click to an <h1> reading `heading` in the page's main. */
async function timeNavigation(page: Page, click: () => Promise<void>, heading: string): Promise<number> {
  await page.evaluate((heading) => {
    const w = window as unknown as { navStart?: number; navEnd?: number };
    w.navStart = undefined;
    w.navEnd = undefined;
    document.addEventListener('click', () => (w.navStart = performance.now()), { capture: true, once: true });
    const arrived = () =>
      [...document.querySelectorAll('main h1')].some((h) => h.textContent?.trim() === heading) &&
      document.querySelector('main[aria-busy="true"]') === null;
    const watch = new MutationObserver(() => {
      if (w.navStart !== undefined && w.navEnd === undefined && arrived()) {
        w.navEnd = performance.now();
        watch.disconnect();
      }
    });
    watch.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  }, heading);
  await click();
  // Waited for inside the page (page.waitForFunction compiles its predicate with
  // `new Function`, which the app's Content-Security-Policy refuses).
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const w = window as unknown as { navEnd?: number };
        const check = () => (w.navEnd !== undefined ? resolve() : requestAnimationFrame(check));
        check();
      }),
  );
  return page.evaluate(() => {
    const w = window as unknown as { navStart: number; navEnd: number };
    return w.navEnd - w.navStart;
  });
}

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `${label}: median ${median.toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms (${times.length} clicks; target under 100 ms)`;
}

test('a link to My payments or to a payment shows the new page: click to h1', async ({ page, context }) => {
  test.setTimeout(120_000);
  const user = newUser();
  await registerVerified(page, context, user);
  const id = await sendPayment(page, 'Luna Lovegood', '5');
  const nav = page.getByRole('navigation');
  const toList = () => nav.getByRole('link', { name: 'My payments' }).click();
  const toPayment = () =>
    page.locator(`[data-payment-id="${id}"]`).getByRole('link', { name: 'Luna Lovegood' }).click();

  // Once unmeasured: both pages' code is in the cache from here on.
  await toList();
  await expect(page.getByRole('heading', { level: 1, name: 'My payments' })).toBeVisible();
  await toPayment();
  await expect(page.getByRole('heading', { level: 1, name: 'Luna Lovegood' })).toBeVisible();

  const list: number[] = [];
  const payment: number[] = [];
  for (let round = 0; round < 10; round++) {
    list.push(await timeNavigation(page, toList, 'My payments'));
    payment.push(await timeNavigation(page, toPayment, 'Luna Lovegood'));
  }
  console.log(summary('navigation to My payments', list));
  console.log(summary('navigation to a payment', payment));
});
