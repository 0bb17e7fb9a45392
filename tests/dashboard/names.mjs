// names.mjs - opens lingerd's page in Debian's headless chromium (playwright-core) while processes
// with hostile names own sockets, and reports what the page shows as one JSON object on stdout:
// the process names in the sockets table and the offenders, the command-line titles, and any
// element or handler the names would have created had they been parsed as markup.
// tests/it_hostile_names.py judges; nothing is asserted here.
//
// Environment: LINGERD_URL (http://127.0.0.1:PORT), CHROMIUM (default /usr/bin/chromium).
import { newReport, step as runStep, withPage } from './browser.mjs';

const base = process.env.LINGERD_URL;
const out = newReport({ injected: [], socket_names: [], offender_names: [], titles: [] });
await withPage(out, async (page) => {
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await page.selectOption('#f-state', 'CLOSE_WAIT').catch(() => page.fill('#f-state', 'CLOSE_WAIT'));
  await page.locator('#sockets-filter').evaluate((f) => f.requestSubmit());
  // The tables fill asynchronously: read until both have names, or for 10 s.
  const deadline = Date.now() + 10000;
  for (;;) {
    Object.assign(out, await page.evaluate(() => ({
      socket_names: [...document.querySelectorAll('#sockets tbody td strong')].map((e) => e.textContent),
      offender_names: [...document.querySelectorAll('#offenders strong')].map((e) => e.textContent),
      titles: [...document.querySelectorAll('#sockets tbody td[title], #offenders [title]')].map((e) => e.getAttribute('title')),
    })));
    if ((out.socket_names.length && out.offender_names.length) || Date.now() > deadline) break;
    await page.waitForTimeout(300);
  }
  out.injected = await page.evaluate(() => {
    const bad = [];
    for (const e of document.querySelectorAll('img:not([src="/favicon.svg"]), b, i, script:not([src]), svg[onload]')) bad.push(e.outerHTML.slice(0, 80));
    for (const e of document.querySelectorAll('*')) {
      for (const a of e.attributes) if (/^on/i.test(a.name)) bad.push(`${e.tagName} ${a.name}`);
    }
    return bad;
  });
});
