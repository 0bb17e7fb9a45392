// browser.mjs - what the page tests share: Debian's headless chromium through playwright-core (no
// browser download) with a throwaway profile; listeners that record console errors, uncaught page
// errors, CSP violations and failed requests into the report; named steps that record their
// result or their error.  The scripts report, the Python tests judge.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function newReport(extra = {}) {
  return { steps: {}, console_errors: [], page_errors: [], csp_violations: [], bad_responses: [], ...extra };
}

/* Runs one named step; its result or its error lands in out.steps[name]. */
export async function step(out, name, fn) {
  const t0 = Date.now();
  try {
    out.steps[name] = { ok: true, ...(await fn()) };
  } catch (e) {
    out.steps[name] = { ok: false, error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) };
  }
  out.steps[name].ms = Date.now() - t0;
}

/*
 * Opens a page in a fresh browser, runs body(page), and prints out as one JSON line whatever
 * happened; an error that ends body early is out.fatal.  Environment: CHROMIUM (the binary,
 * default /usr/bin/chromium).
 */
export async function withPage(out, body) {
  const userDir = mkdtempSync(join(tmpdir(), 'lingerd-chromium-'));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      chromiumSandbox: false,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic'],
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      colorScheme: 'light',
      timeout: 30000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(15000);
    // Installed through the DevTools protocol before any page script runs: the page's own CSP
    // does not apply to it.
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample });
      });
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning' && /Content Security Policy/i.test(m.text())) {
        out.console_errors.push(m.text());
      }
    });
    page.on('pageerror', (e) => out.page_errors.push(String(e)));
    page.on('response', (r) => {
      if (r.status() >= 400) out.bad_responses.push(`${r.status()} ${r.url()}`);
    });
    // A request cut short by a reload or a newer request of the page's own is no failure.
    page.on('requestfailed', (r) => {
      const why = r.failure() && r.failure().errorText;
      if (why !== 'net::ERR_ABORTED') out.bad_responses.push(`failed ${r.url()} ${why}`);
    });
    await body(page);
    out.csp_violations = await page.evaluate(() => window.__csp || []);
  } catch (e) {
    out.fatal = String(e && e.stack ? e.stack : e);
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    rmSync(userDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
