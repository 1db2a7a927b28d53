import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// `make screenshots`: the main screens as PNGs in docs/screenshots/, on the same servers
// as the browser tests. Not part of `make test`.
export default defineConfig({
  ...base,
  testDir: './screenshots',
  use: { ...base.use, trace: 'off' },
});
