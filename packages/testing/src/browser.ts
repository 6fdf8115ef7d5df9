/**
 * Real-browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser). Without
 * /usr/bin/chromium the browser tests skip locally and fail in CI (`.ci/run` installs it with apt).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RAMPART_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** Run browser tests here; in CI a missing browser is a failure, not a skip. */
export const browserTestsEnabled = hasChromium || process.env.CI !== undefined;

export const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!hasChromium) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where a test's screenshots go (artifacts/ is git-ignored). */
export function artifactPath(area: string, name: string): string {
  const dir = `${ARTIFACTS}${area}/`;
  mkdirSync(dir, { recursive: true });
  return `${dir}${name}.png`;
}

/**
 * Collects what a page should never produce: console errors, uncaught exceptions, and Content-Security-Policy
 * violations (reported by the browser as console errors and as `securitypolicyviolation` events); and, apart,
 * every response with a 4xx/5xx status (`failed`), for the test to compare with the ones it expects.
 */
export async function watchPage(page: Page): Promise<{ problems: string[]; failed: string[] }> {
  const problems: string[] = [];
  const failed: string[] = [];
  page.on('console', (m) => {
    // The browser logs every non-2xx fetch as an error; those are tracked (with their URL) in `failed`.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  // A string, not a function: this file is type-checked for Node, without the DOM library.
  await page.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  return { problems, failed };
}

export type Watched = Awaited<ReturnType<typeof watchPage>>;

/** Chromium with one page under {@link watchPage}: what a browser suite opens before its first test. */
export async function openWatchedPage(): Promise<{ browser: Browser; page: Page; watched: Watched }> {
  const browser = await launchBrowser();
  const page = await browser.newPage();
  return { browser, page, watched: await watchPage(page) };
}
