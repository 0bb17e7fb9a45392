// page.mjs - the page as an operator meets it (tests/it_page.py): the headline row naming the
// leaking process, ?lang=ko, the phone's width, axe-core in four views, layout shift on first
// load, the sockets table fetched only once visible, trends fetched incrementally, the teardown
// tracer's panel (a real close's timeline, closers, histograms, or why it is off), and last the
// stale state after lingerd is killed. Reports what it saw as one JSON object; asserts nothing.
//
// Environment: LINGERD_URL, INTERVAL (seconds), LEAKER (the lab's leaking process name),
// DAEMON_PID (killed in the last step), ARTIFACTS (screenshots), SCREENSHOTS (if set, a folder
// that receives the README's screenshots), CHROMIUM, LINGER (`lingerd lab linger --json`'s line).
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { newReport, step as runStep, withPage } from './browser.mjs';

const base = process.env.LINGERD_URL;
const interval = Number(process.env.INTERVAL || 1);
const leaker = process.env.LEAKER || 'lab-leaker';
const artifacts = process.env.ARTIFACTS || '.';
const shots = process.env.SCREENSHOTS || '';
// The findings' min_age for every view (the README's screenshots use a few seconds, so that a
// young lab already has its findings); unset, the page's default.
const minAge = process.env.MIN_AGE || '';
const hashAge = minAge ? `min_age=${minAge}` : '';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const out = newReport({ requests: [] });
const step = (name, fn) => runStep(out, name, fn);

mkdirSync(artifacts, { recursive: true });
if (shots) mkdirSync(shots, { recursive: true });

async function api(path) {
  const r = await fetch(base + path);
  return r.json();
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `page-${name}.png`) });
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`) });
}

/* axe-core's violations on the page as it is now (run through DevTools: the page's CSP stays). */
async function axe(page) {
  await page.evaluate(`${axeSource}\n;0`);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return r.violations.map((v) => ({ id: v.id, nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), why: v.nodes[0] && v.nodes[0].failureSummary }));
}

/*
 * The sockets table filtered to TIME_WAIT (on port, if given), then "Trace" on the first row the
 * tracer saw close: returns when the timeline's table is drawn.
 */
async function traceFromTable(page, port) {
  await page.locator('#sockets-section').scrollIntoViewIfNeeded();
  await page.selectOption('#f-state', 'TIME_WAIT');
  await page.fill('#f-port', port ? String(port) : '');
  await page.click('#sockets-filter button[type="submit"]');
  const button = page.locator('#sockets tbody tr button.trace').first();
  await button.waitFor({ timeout: 10000 });
  const cookie = await button.getAttribute('data-cookie');
  await button.click();
  await page.waitForSelector('#timeline table tbody tr', { timeout: 10000 });
  await page.waitForTimeout(600); // the smooth scroll to the panel
  return cookie;
}

const ready = (page) => page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });

await withPage(out, async (page) => {
  // Every shift of the first load, before any page script runs.
  await page.addInitScript(() => {
    window.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/')) out.requests.push({ t: Date.now(), url: r.url().slice(base.length) });
  });

  await step('headline', async () => {
    // When the API first names the leaker, and when the page's headline does.
    let apiAt = null;
    const t0 = Date.now();
    const watch = (async () => {
      while (apiAt == null && Date.now() - t0 < 30000) {
        const d = await api('/api/v1/lingering?group_by=process');
        if (d.groups.some((g) => g.comm === leaker)) apiAt = Date.now();
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const resp = await page.goto(base + '/' + (hashAge ? '#' + hashAge : ''), { waitUntil: 'load' });
    await ready(page);
    const row = page.locator('#leaks tbody tr', { hasText: leaker }).first();
    await row.waitFor({ timeout: 30000 });
    const pageAt = Date.now();
    await watch;
    const cells = await row.locator('th, td').allTextContents();
    const box = await row.boundingBox();
    return {
      status: resp.status(),
      api_at_ms: apiAt - t0,
      page_at_ms: pageAt - t0,
      cells,
      row_top: box && box.y,
      viewport_h: page.viewportSize().height,
      verdict: await page.textContent('#verdict'),
      verdict_text: await page.textContent('#verdict-text'),
      severity: await page.getAttribute('#headline-section', 'data-severity'),
    };
  });

  await step('layout_shift', async () => {
    await page.waitForTimeout(Math.max(3000, 3 * interval * 1000));
    return { cls: await page.evaluate(() => window.__cls) };
  });

  await step('highlight', async () => {
    const snap = await api('/api/v1/snapshot');
    return {
      cards: await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#counts li')].map((li) => [li.dataset.state, li.className]))),
      counts: snap.counts,
      delta: await page.textContent('#counts li[data-state="CLOSE_WAIT"] .card-delta'),
      range: await page.getAttribute('#ranges button[aria-pressed="true"]', 'data-range'),
    };
  });

  await step('fetching', async () => {
    // Before the sockets table was scrolled to, it was never asked for.
    const before = out.requests.filter((r) => r.url.startsWith('/api/v1/sockets')).length;
    const trends = out.requests.filter((r) => r.url.startsWith('/api/v1/trends') && !/ALL|ESTABLISHED/.test(r.url)).map((r) => r.url);
    await page.locator('#sockets-section').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll('#sockets tbody tr').length > 0, null, { timeout: 10000 });
    const after = out.requests.filter((r) => r.url.startsWith('/api/v1/sockets')).length;
    await page.evaluate(() => window.scrollTo(0, 0));
    return { sockets_before: before, sockets_after: after, trends };
  });

  // The teardown tracer's panel: a real close (the lab's linger demo, run after lingerd started)
  // traced from the sockets table, the closers, and the time spent in CLOSE_WAIT.
  await step('events', async () => {
    const hz = await api('/healthz');
    const res = { events: hz.events };
    if (hz.events !== 'bpf') {
      await page.locator('#events-section').scrollIntoViewIfNeeded();
      res.off_text = await page.textContent('#events-off');
      res.off_visible = await page.isVisible('#events-off');
      res.body_visible = await page.isVisible('#events-body');
      return res;
    }
    const linger = JSON.parse(process.env.LINGER || 'null');
    const plain = linger && linger.cases.find((c) => c.case === 'plain_close');
    res.cookie = await traceFromTable(page, plain && plain.lport);
    res.api = await api('/api/v1/sockets/' + res.cookie);
    res.rows = await page.$$eval('#timeline table tbody tr', (trs) => trs.map((tr) => ({
      seg: tr.dataset.seg, dir: tr.dataset.dir, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent) })));
    res.svg_arrows = await page.locator('#timeline svg .seq-msg').count();
    res.closer = await page.textContent('#timeline .timeline-closer');
    res.closers = await page.$$eval('#closers tbody tr', (trs) => trs.map((tr) => tr.textContent));
    res.hist = await page.$$eval('#histograms figure', (fs) => fs.map((f) => ({ state: f.dataset.state, count: Number(f.dataset.count),
      bars: [...f.querySelectorAll('rect')].map((r) => [Number(r.dataset.bucket), Number(r.dataset.n)]) })));
    res.events_api = await api('/api/v1/events');
    // The TIME_WAIT explanation names its demos and draws the demo's real close.
    await page.locator('#machine-section').scrollIntoViewIfNeeded();
    await page.click('#diagram [data-state="TIME_WAIT"]');
    await page.waitForSelector('#explain[data-state="TIME_WAIT"] .try-it button', { timeout: 10000 });
    res.try_it = await page.$$eval('#explain .try-it code', (cs) => cs.map((c) => c.textContent));
    await page.evaluate(() => { document.querySelector('#timeline').replaceChildren(); });
    await page.click('#explain .try-it button');
    await page.waitForSelector('#timeline table tbody tr', { timeout: 10000 });
    res.demo_closer = await page.textContent('#timeline .timeline-closer');
    res.demo_segs = await page.$$eval('#timeline table tbody tr', (trs) => trs.map((tr) => tr.dataset.seg));
    await page.locator('#events-section').screenshot({ path: join(artifacts, 'page-en-events.png') });
    if (shots) await page.locator('#events-section').screenshot({ path: join(shots, 'en-events.png') });
    return res;
  });

  await step('axe_light', async () => {
    await page.waitForTimeout(300);
    await shot(page, 'en');
    return { violations: await axe(page) };
  });

  await step('axe_dark', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(500);
    await shot(page, 'en-dark');
    const r = { violations: await axe(page) };
    await page.emulateMedia({ colorScheme: 'light' });
    return r;
  });

  await step('lang_query', async () => {
    const resp = await page.goto(base + '/?lang=ko' + (hashAge ? '#' + hashAge : ''), { waitUntil: 'load' });
    await ready(page);
    await page.locator('#leaks tbody tr', { hasText: leaker }).first().waitFor({ timeout: 15000 });
    await page.waitForTimeout(Math.max(1000, 2 * interval * 1000));
    return {
      status: resp.status(),
      content_type: resp.headers()['content-type'],
      html_lang: await page.getAttribute('html', 'lang'),
      heading: await page.textContent('#headline-h'),
      counts_h: await page.textContent('#counts-h'),
      todo: await page.textContent('#leaks tbody tr td.todo'),
    };
  });

  await step('axe_ko', async () => {
    await shot(page, 'ko');
    // With the tracer, the Korean view has a timeline too (axe checks it; the README shows it).
    if ((await api('/healthz')).events === 'bpf') {
      const linger = JSON.parse(process.env.LINGER || 'null');
      const plain = linger && linger.cases.find((c) => c.case === 'plain_close');
      await traceFromTable(page, plain && plain.lport);
      await page.locator('#events-section').screenshot({ path: join(artifacts, 'page-ko-events.png') });
      if (shots) await page.locator('#events-section').screenshot({ path: join(shots, 'ko-events.png') });
    }
    const r = { violations: await axe(page) };
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await shot(page, 'ko-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    return r;
  });

  await step('phone', async () => {
    const res = {};
    for (const lang of ['en', 'ko']) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${base}/#lang=${lang}&${hashAge}`, { waitUntil: 'load' });
      await page.reload({ waitUntil: 'load' });
      await ready(page);
      await page.locator('#leaks tbody tr', { hasText: leaker }).first().waitFor({ timeout: 15000 });
      await page.waitForTimeout(Math.max(1000, 2 * interval * 1000));
      await shot(page, `${lang}-phone`);
      // Every panel scrolled through, so that anything drawn late is measured too.
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      await page.waitForTimeout(500);
      res[lang] = await page.evaluate(() => ({
        scroll_width: document.documentElement.scrollWidth,
        client_width: document.documentElement.clientWidth,
        wide: [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.closest('.table-wrap')).slice(0, 5).map((e) => e.tagName + '.' + e.className),
        explain_clipped: (() => { const e = document.querySelector('#explain'); return e.scrollHeight > e.clientHeight + 2; })(),
        remedy_first: (() => { const dt = document.querySelector('#explain dl dt'); return dt ? dt.textContent : null; })(),
      }));
      if (lang === 'en') {
        await page.evaluate(() => window.scrollTo(0, 0));
        res.axe = await axe(page);
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    return res;
  });

  await step('stale', async () => {
    await page.goto(`${base}/#lang=en&${hashAge}`, { waitUntil: 'load' });
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('#leaks tbody tr', { hasText: leaker }).first().waitFor({ timeout: 15000 });
    const before = { health: await page.textContent('#st-health'), verdict: await page.textContent('#verdict') };
    process.kill(Number(process.env.DAEMON_PID), 'SIGKILL');
    const killedAt = Date.now();
    await page.waitForSelector('body.stale', { timeout: 15000 });
    const staleAfter = Date.now() - killedAt;
    await page.waitForTimeout(1500);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'en-stale');
    const res = {
      before,
      stale_after_ms: staleAfter,
      health: await page.textContent('#st-health'),
      health_class: await page.getAttribute('#st-health', 'class'),
      verdict: await page.textContent('#verdict'),
      verdict_text: await page.textContent('#verdict-text'),
      note: await page.textContent('#stale'),
      panels: await page.locator('main > .panel').count(),
      aged_panels: await page.locator('main > .panel .panel-age').count(),
      panel_age: await page.textContent('main > .panel .panel-age'),
      card: await page.textContent('#counts li[data-state="CLOSE_WAIT"] .card-count'),
      findings: await page.textContent('#findings'),
      filter: await page.evaluate(() => getComputedStyle(document.querySelector('#counts')).filter),
    };
    await page.selectOption('#lang', 'ko');
    await page.waitForFunction(() => /[\uac00-\ud7a3]/.test(document.querySelector('#stale').textContent));
    await page.waitForTimeout(300);
    await shot(page, 'ko-stale');
    res.note_ko = await page.textContent('#stale');
    res.verdict_ko = await page.textContent('#verdict');
    return res;
  });
});
