// netns.mjs - opens lingerd's dashboard in Debian's headless chromium (playwright-core) against a
// daemon run with --netns all, switches the namespace selector to each of the namespaces it is
// given and reports what the page showed as one JSON object on stdout; tests/it_netns.py compares
// it with `ss -N NAME` and the API. Nothing is asserted here.
//
// Environment: LINGERD_URL (http://127.0.0.1:PORT), NETNS (namespace names, comma-separated),
// CHROMIUM (default /usr/bin/chromium), ARTIFACTS (folder for a screenshot, optional).
import { join } from 'node:path';
import { newReport, step as runStep, withPage } from './browser.mjs';

const base = process.env.LINGERD_URL;
const names = (process.env.NETNS || '').split(',').filter(Boolean);
const out = newReport();
/* The endpoints whose answers depend on the namespace, as the page calls them. */
const SCOPED = /\/api\/v1\/(snapshot|trends|lingering|findings|sockets)\b/;

async function api(path) {
  const r = await fetch(base + path);
  return r.json();
}

const step = (name, fn) => runStep(out, name, fn);

const cardText = (page) => page.textContent('#counts li[data-state="CLOSE_WAIT"] .card-count');

/* Reads the CLOSE_WAIT card and the API's count for ns until they agree, or for 10 s. */
async function cardFor(page, ns) {
  const q = ns ? `?netns=${encodeURIComponent(ns)}` : '';
  let card = null;
  let want = null;
  const deadline = Date.now() + 10000;
  for (;;) {
    want = (await api('/api/v1/snapshot' + q)).counts.CLOSE_WAIT;
    card = await cardText(page);
    if (card.replace(/\D/g, '') === String(want) || Date.now() > deadline) break;
    await page.waitForTimeout(250);
  }
  return { card: card === '–' ? null : Number(card.replace(/\D/g, '')), api: want };
}

await withPage(out, async (page) => {
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));

  await step('load', async () => {
    await page.goto(base + '/', { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    await page.waitForSelector('#netns-wrap:not([hidden])', { timeout: 15000 });
    return {
      options: await page.$$eval('#netns option', (os) => os.map((o) => o.value)),
      disabled: await page.isDisabled('#netns'),
      value: await page.inputValue('#netns'),
      self: await cardFor(page, ''),
    };
  });

  for (const ns of names) {
    await step('switch:' + ns, async () => {
      // The sockets table is fetched only while it is in view: keep it there.
      await page.$eval('#sockets-section', (el) => el.scrollIntoView());
      await page.waitForTimeout(300);
      await page.selectOption('#netns', ns);
      const from = requests.length;
      const seen = await cardFor(page, ns);
      // Every panel reloads at once on a switch; give the slower ones (sockets, trends) a moment.
      const t0 = Date.now();
      let scoped = [];
      for (;;) {
        scoped = requests.slice(from).filter((u) => SCOPED.test(u));
        const kinds = new Set(scoped.map((u) => u.match(SCOPED)[1]));
        if (kinds.size === 5 || Date.now() - t0 > 10000) break;
        await page.waitForTimeout(250);
      }
      const want = `netns=${encodeURIComponent(ns)}`;
      return {
        ...seen,
        hash: await page.evaluate(() => location.hash),
        split_disabled: await page.isDisabled('#split'),
        endpoints: [...new Set(scoped.map((u) => u.match(SCOPED)[1]))].sort(),
        unscoped: scoped.filter((u) => !u.includes(want)),
      };
    });
  }

  await step('layout', async () => {
    // The header holds one more control now: nothing may stick out sideways at laptop width.
    const file = process.env.ARTIFACTS ? join(process.env.ARTIFACTS, 'dashboard-netns.png') : null;
    if (file) await page.screenshot({ path: file, fullPage: false });
    return page.evaluate(() => ({
      scroll_width: document.documentElement.scrollWidth,
      client_width: document.documentElement.clientWidth,
    }));
  });

  await step('reload', async () => {
    // The choice is kept in the URL fragment: a reload (or a shared link) shows the same namespace.
    const last = names[names.length - 1];
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    return { value: await page.inputValue('#netns'), ...(await cardFor(page, last)) };
  });

  await step('back_to_self', async () => {
    await page.selectOption('#netns', '');
    return { hash: await page.evaluate(() => location.hash), split_disabled: await page.isDisabled('#split'), ...(await cardFor(page, '')) };
  });

});
