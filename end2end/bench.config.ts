import release from './release.config';
import { defineConfig } from '@playwright/test';

// `make bench`'s browser figures, on the release build (see bench/navigation.spec.ts).
export default defineConfig({
  ...release,
  testDir: './bench',
  grep: undefined,
  reporter: 'list',
});
