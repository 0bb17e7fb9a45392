// drive.mjs - opens lingerd's dashboard in Debian's headless chromium (playwright-core, no browser
// download) and reports what the page shows as one JSON object on stdout; tests/it_dashboard.py
// compares it with the API and the lab. Nothing is asserted here: every step records what it saw,
// and a step that cannot complete records its error, so the Python side can fail precisely.
//
// Environment: LINGERD_URL (http://127.0.0.1:PORT), ARTIFACTS (folder for screenshots),
// CHROMIUM (default /usr/bin/chromium), MIN_AGE (findings control, default 1).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { newReport, step as runStep, withPage } from './browser.mjs';

const base = process.env.LINGERD_URL;
const artifacts = process.env.ARTIFACTS || '.';
const minAge = process.env.MIN_AGE || '1';
const out = newReport();

async function api(path) {
  const r = await fetch(base + path);
  return r.json();
}

const step = (name, fn) => runStep(out, name, fn);

mkdirSync(artifacts, { recursive: true });
await withPage(out, async (page) => {
  await step('load', async () => {
    const resp = await page.goto(base + '/', { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    return {
      status: resp.status(),
      csp: resp.headers()['content-security-policy'] || null,
      title: await page.title(),
      lang: await page.getAttribute('html', 'lang'),
      status_line: await page.textContent('#status'),
      health: await page.textContent('#st-health'),
      attribution: await page.textContent('#st-attribution'),
    };
  });

  if (!out.steps.load.ok) throw new Error('the page did not load: ' + out.steps.load.error);

  await step('netns', async () => {
    // Only lingerd's own namespace is followed here: the selector has nothing to offer.
    const requests = [];
    const onRequest = (r) => requests.push(r.url());
    page.on('request', onRequest);
    await page.waitForTimeout(1500);
    page.off('request', onRequest);
    return {
      wrap_hidden: await page.evaluate(() => document.querySelector('#netns-wrap').hidden),
      disabled: await page.isDisabled('#netns'),
      followed: (await api('/api/v1/netns')).namespaces.length,
      netns_params: requests.filter((u) => /[?&]netns=/.test(u)),
      polled: requests.some((u) => u.includes('/api/v1/netns')),
    };
  });

  await step('counts', async () => {
    // The card and the API are read together until they agree, or for 10 s.
    let card = null;
    let snap = null;
    const deadline = Date.now() + 10000;
    for (;;) {
      snap = await api('/api/v1/snapshot');
      card = await page.textContent('#counts li[data-state="CLOSE_WAIT"] .card-count');
      if (card.replace(/\D/g, '') === String(snap.counts.CLOSE_WAIT) || Date.now() > deadline) break;
      await page.waitForTimeout(300);
    }
    return {
      card_text: card,
      card: Number(card.replace(/\D/g, '')),
      api: snap.counts.CLOSE_WAIT,
      lingering_class: await page.getAttribute('#counts li[data-state="CLOSE_WAIT"]', 'class'),
      established_class: await page.getAttribute('#counts li[data-state="ESTABLISHED"]', 'class'),
      cards: await page.locator('#counts li').count(),
      delta: await page.textContent('#counts li[data-state="CLOSE_WAIT"] .card-delta'),
    };
  });

  await step('findings', async () => {
    await page.fill('#findings-min-age', minAge);
    await page.press('#findings-min-age', 'Tab');
    const li = page.locator('#findings li.finding', { hasText: 'lab-leaker' }).first();
    await li.waitFor({ timeout: 25000 });
    return {
      text: (await li.textContent()).slice(0, 2000),
      severity: await li.getAttribute('class'),
      count: await page.locator('#findings li.finding').count(),
      summary: await page.textContent('#findings-summary'),
    };
  });

  await step('chart', async () => {
    await page.waitForSelector('#chart canvas');
    // Wait for a line: the plot has pixels of some series colour once data arrived.
    const probe = () => page.evaluate(() => {
      const c = document.querySelector('#chart canvas');
      const g = c.getContext('2d');
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, gg, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
        if (a > 200 && Math.max(r, gg, b) - Math.min(r, gg, b) > 80) coloured++;
      }
      const rect = c.getBoundingClientRect();
      return { width: rect.width, height: rect.height, coloured, legend: document.querySelector('#chart .u-legend') ? document.querySelector('#chart .u-legend').textContent : null };
    });
    let r = await probe();
    const deadline = Date.now() + 15000;
    while (r.coloured === 0 && Date.now() < deadline) {
      await page.waitForTimeout(500);
      r = await probe();
    }
    // A range button redraws the chart for that range.
    await page.click('#ranges button[data-range="15m"]');
    await page.waitForSelector('#ranges button[data-range="15m"][aria-pressed="true"]');
    r.pressed = await page.getAttribute('#ranges button[data-range="15m"]', 'aria-pressed');
    return r;
  });

  await step('offenders', async () => {
    const row = page.locator('#offenders tbody tr', { hasText: 'lab-leaker' }).first();
    await row.waitFor();
    return { text: await row.textContent(), total: Number((await row.locator('td.num').first().textContent()).replace(/\D/g, '')) };
  });

  await step('diagram', async () => {
    const en = await api('/api/v1/states/CLOSE_WAIT?lang=en');
    const node = page.locator('#diagram .node[data-state="CLOSE_WAIT"]');
    const nodeText = await node.textContent();
    const tabindex = await node.getAttribute('tabindex');
    // Keyboard first: focus FIN_WAIT_2 and press Enter.
    await page.focus('#diagram .node[data-state="FIN_WAIT_2"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#explain[data-state="FIN_WAIT_2"]');
    const keyboardTitle = await page.textContent('#explain h3');
    await node.click();
    await page.waitForSelector('#explain[data-state="CLOSE_WAIT"]');
    return {
      node_text: nodeText,
      tabindex,
      node_count: await page.locator('#diagram .node').count(),
      keyboard_title: keyboardTitle,
      title: await page.textContent('#explain h3'),
      api_title: en.title,
      explain_text: (await page.textContent('#explain')).slice(0, 3000),
      api_meaning: en.meaning,
      selected: await node.getAttribute('aria-pressed'),
    };
  });

  await step('sockets', async () => {
    await page.selectOption('#f-state', 'CLOSE_WAIT');
    await page.fill('#f-process', 'lab-leaker');
    await page.click('#sockets-filter button[type="submit"]');
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('#sockets tbody tr');
      return rows.length > 0 && [...rows].every((r) => /lab-leaker/.test(r.textContent));
    });
    const leakRows = await page.locator('#sockets tbody tr').count();
    // Paging: 25 a page over every socket, then the next page.
    await page.click('#f-reset');
    await page.selectOption('#f-limit', '25');
    await page.click('#sockets-filter button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#sockets tbody tr').length === 25);
    const first = await page.textContent('#sockets tbody tr:first-child');
    const nextDisabled = await page.isDisabled('#p-next');
    let second = null;
    let info = null;
    if (!nextDisabled) {
      await page.click('#p-next');
      await page.waitForFunction((f) => document.querySelector('#sockets tbody tr:first-child').textContent !== f, first);
      second = await page.textContent('#sockets tbody tr:first-child');
      info = await page.textContent('#p-info');
    }
    return { leak_rows: leakRows, first, second, info, next_disabled: nextDisabled };
  });

  await step('screenshot', async () => {
    await page.click('#p-first');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(300);
    const file = join(artifacts, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    return { file };
  });

  await step('korean', async () => {
    const ko = await api('/api/v1/states/CLOSE_WAIT?lang=ko');
    await page.selectOption('#lang', 'ko');
    await page.waitForFunction((want) => document.querySelector('#explain h3').textContent === want, ko.title);
    // Findings come from the server in the page's language: the leak's title turns Korean.
    await page.waitForFunction(() => [...document.querySelectorAll('#findings li.finding')]
      .some((li) => li.textContent.includes('lab-leaker') && /[\uac00-\ud7a3]/.test(li.textContent)), null, { timeout: 15000 })
      .catch(() => {});
    const finding = await page.evaluate(() => {
      const li = [...document.querySelectorAll('#findings li.finding')].find((x) => x.textContent.includes('lab-leaker'));
      return li ? li.textContent.slice(0, 600) : null;
    });
    const file = join(artifacts, 'dashboard-ko.png');
    await page.screenshot({ path: file, fullPage: false });
    return {
      title: await page.textContent('#explain h3'),
      api_title: ko.title,
      html_lang: await page.getAttribute('html', 'lang'),
      heading: await page.textContent('#counts-h'),
      topics: (await page.textContent('#topics')).slice(0, 400),
      finding,
      file,
    };
  });

  await step('dark', async () => {
    await page.selectOption('#lang', 'en');
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const file = join(artifacts, 'dashboard-dark.png');
    await page.screenshot({ path: file, fullPage: false });
    return { light, dark, file };
  });

  await step('split', async () => {
    // Per-process series live in the 1-minute rollups only: wait (until SPLIT_DEADLINE, unix
    // seconds) for the first minute after the daemon started to be rolled up.
    const deadline = Number(process.env.SPLIT_DEADLINE || 0) * 1000;
    let apiHas = false;
    for (;;) {
      const d = await api('/api/v1/trends?from=-900&to=now&by=process&states=CLOSE_WAIT');
      apiHas = d.series.some((x) => x.group === 'lab-leaker');
      if (apiHas || Date.now() > deadline) break;
      await page.waitForTimeout(1000);
    }
    await page.selectOption('#split', 'process');
    await page.waitForSelector('#split-state-label:not([hidden])');
    const splitState = await page.inputValue('#split-state');
    let legend = null;
    if (apiHas) {
      await page.waitForFunction(() => /lab-leaker/.test(document.querySelector('#chart .u-legend').textContent));
      legend = await page.textContent('#chart .u-legend');
    }
    await page.selectOption('#split', '');
    await page.waitForFunction(() => /TIME_WAIT/.test(document.querySelector('#chart .u-legend').textContent));
    return { api_has: apiHas, legend, split_state: splitState };
  });

  await step('layout', async () => {
    // Nothing may stick out sideways at laptop width.
    return page.evaluate(() => ({
      scroll_width: document.documentElement.scrollWidth,
      client_width: document.documentElement.clientWidth,
    }));
  });

});
