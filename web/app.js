// app.js - the dashboard: polls lingerd's JSON API and renders it. Text from the kernel or from a
// process (names, command lines, addresses) only ever goes into the page through textContent.
import { STRINGS, defaultLang, tr as translate, has, duration, kernelWhat } from './i18n.js';
import { buildDiagram } from './diagram.js';

/* Lifecycle order for the cards: opening, open, closing, closed. */
const ALL_STATES = ['LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2',
  'CLOSING', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED'];
/* Until /api/v1/states says otherwise. */
const LINGERING_DEFAULT = ['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK'];
const SHORT = { FIN_WAIT_1: 'FW1', FIN_WAIT_2: 'FW2', CLOSING: 'CLG', TIME_WAIT: 'TW',
  CLOSE_WAIT: 'CW', LAST_ACK: 'LA', ESTABLISHED: 'EST', SYN_SENT: 'SS', SYN_RECV: 'SR',
  LISTEN: 'LST', CLOSED: 'CLD' };
/* Counters whose growth means connections ended badly (the others count ordinary traffic). */
const TROUBLE = /Abort|Overflow|Drop|Fail|Reset|Rst|Killed|Retrans|Timeout/i;
const RANGES = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800 };
/*
 * Six hues far apart (and a dash pattern each) so that no two lingering states read as the same
 * line; the dark theme gets lighter tints of the same hues.
 */
const STATE_COLORS = {
  light: { CLOSE_WAIT: '#d62728', TIME_WAIT: '#1f77b4', FIN_WAIT_2: '#9467bd', FIN_WAIT_1: '#8c6d00',
    LAST_ACK: '#2ca02c', CLOSING: '#0f8f9f' },
  dark: { CLOSE_WAIT: '#ff6b6b', TIME_WAIT: '#5aa9ff', FIN_WAIT_2: '#c39bff', FIN_WAIT_1: '#e0b400',
    LAST_ACK: '#5fd35f', CLOSING: '#3fd0e0' },
};
const STATE_DASH = { CLOSE_WAIT: [], TIME_WAIT: [8, 4], FIN_WAIT_2: [2, 3], FIN_WAIT_1: [10, 3, 2, 3],
  LAST_ACK: [5, 5], CLOSING: [1, 5] };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c6d00', '#0f8f9f', '#e377c2',
  '#7f7f7f', '#bcbd22', '#ff7f0e'];
/* Which state a finding is about, by the first part of its id. */
const FINDING_STATE = { close_wait_leak: 'CLOSE_WAIT', close_wait_unread: 'CLOSE_WAIT', fin_wait2_held: 'FIN_WAIT_2',
  fin_wait1_stuck: 'FIN_WAIT_1', time_wait_pressure: 'TIME_WAIT', time_wait_overflow: 'TIME_WAIT',
  listen_overflows: 'LISTEN', accept_queue_full: 'LISTEN', syn_recv_buildup: 'SYN_RECV' };
const SEV_RANK = { info: 1, warning: 2, critical: 3 };
const STALE_INTERVALS = 3;   // as /healthz: data older than this many intervals is stale
const RATE_WINDOW_S = 300;   // change per minute from the page's own samples of the last 5 min
const LEAKS_SHOWN = 6;       // headline rows; the rest are in Top offenders
const FETCH_TIMEOUT_MS = 10000;
const FINDINGS_SHOWN = 4; // the most severe first; the rest behind a button

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const ui = {
  lang: 'en',
  live: true,
  interval: 1,
  health: null,
  snapshot: null,
  lingering: new Set(LINGERING_DEFAULT),
  statesDoc: {},      // lang -> /api/v1/states
  stateDetail: {},    // "lang/STATE" -> /api/v1/states/STATE
  deltas: null,       // state -> { base, t }
  range: '1h',
  split: '',
  splitState: 'CLOSE_WAIT',
  logScale: false,
  trends: null,
  offBy: 'process',
  offenders: null,
  minAge: 60,
  findings: null,
  findingsAll: false,
  system: null,
  selected: null,
  sockets: { filter: {}, limit: 50, cursors: [null], page: 0, data: null, error: null },
  netns: '',          // the namespace shown: '' for lingerd's own, else a name from /api/v1/netns
  netnsList: null,    // /api/v1/netns
  rendered: {},       // panel -> key of what is on screen, to skip identical redraws
  stale: null,        // null while the data is live, else why not: 'unreachable' or 'stalled'
  dataAt: 0,          // last_snapshot_at of the newest data the page holds
  leaks: null,        // /api/v1/lingering?group_by=process, for the headline rows
  samples: {},        // pid -> [[taken_at, total], ...]: the page's own raw samples
  historyStart: null, // the oldest point of the last hour's history, when history is younger
  historyStep: 0,
  rangeChosen: false, // the range came from the link or a click, not from the data
  socketsVisible: false,
  events: null,       // /api/v1/events, while the teardown tracer is on
};

const t = (key, vars) => translate(ui.lang, key, vars);
const fmtNum = (n) => (n == null ? '–' : Number(n).toLocaleString(ui.lang === 'ko' ? 'ko-KR' : 'en-US'));

function pad2(n) { return String(n).padStart(2, '0'); }
function clock(ts) {
  if (!ts) return '–';
  const d = new Date(ts * 1000);
  const hms = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return hms;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hms}`;
}
function clockShort(ts) {
  const d = new Date(ts * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/* One element with text content (never parsed as markup) and attributes. */
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

/* ---- fetching ---- */

/*
 * Answers can arrive out of order (a poll in flight when the range or a filter changes): each
 * loader takes a ticket and drops an answer whose ticket is no longer the newest.
 */
const tickets = {};
function ticket(name) {
  const n = (tickets[name] || 0) + 1;
  tickets[name] = n;
  return () => tickets[name] === n;
}

/* The server could not be reached at all: the page keeps what it has and shows it as stale. */
class NetError extends Error {}

class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super(err ? err.message : `HTTP ${status}`);
    this.status = status;
    this.code = err ? err.code : null;
    this.parameter = err ? err.parameter : null;
  }
}

/* An API path for the namespace shown (lingerd's own needs no parameter). */
function withNs(path) {
  if (!ui.netns) return path;
  return `${path}${path.includes('?') ? '&' : '?'}netns=${encodeURIComponent(ui.netns)}`;
}

/* Groups by process or port are kept for lingerd's own namespace only. */
const splitOn = () => Boolean(ui.split && !ui.netns);

async function getJSON(path, { acceptStatus = [] } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    let r;
    try {
      r = await fetch(path, { signal: ctl.signal, cache: 'no-store', headers: { Accept: 'application/json' } });
    } catch (e) {
      throw new NetError(e.name === 'AbortError' ? t('timed_out') : e.message);
    }
    const body = await r.json().catch(() => null);
    if (!r.ok && !acceptStatus.includes(r.status)) throw new ApiError(r.status, body);
    return body;
  } finally {
    clearTimeout(timer);
  }
}

function showPanelError(panelId, err) {
  if (err instanceof NetError) return; // shown once, as the page's staleness
  const panel = document.getElementById(panelId);
  let p = $('.panel-error', panel);
  if (!err) {
    if (p) p.remove();
    return;
  }
  if (!p) {
    p = h('p', { class: 'panel-error error', role: 'status' });
    $('.panel-head', panel).after(p);
  }
  p.textContent = t('error', { msg: err.message || String(err) });
}

/* ---- language ---- */

function applyI18n() {
  document.documentElement.lang = ui.lang;
  document.title = t('title');
  for (const e of $$('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of $$('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
  for (const e of $$('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  $('#lang').value = ui.lang;
}

async function setLang(lang, { initial = false } = {}) {
  ui.lang = STRINGS[lang] ? lang : 'en';
  try { localStorage.setItem('lingerd.lang', ui.lang); } catch (e) { /* private mode */ }
  applyI18n();
  ui.rendered = {};
  if (diagram) diagram.setLabels(t);
  fillStateSelects();
  if (!initial) {
    renderAll();
    saveHash();
    loadFindings(); // their titles and remedies come from the server in the chosen language
  }
  await loadStatesDoc();
  if (ui.selected) await showExplanation(ui.selected, { focus: false });
}

/* ---- the URL fragment keeps the view shareable: #lang=ko&netns=NAME&range=6h&split=process&state=CLOSE_WAIT ---- */

/* The view from the link: ?lang=ko works as well as #lang=ko; the fragment wins. */
function readHash() {
  const v = {};
  for (const p of [new URLSearchParams(location.search), new URLSearchParams(location.hash.slice(1))]) {
    for (const k of ['lang', 'netns', 'range', 'split', 'state', 'min_age', 'by', 'select']) if (p.has(k)) v[k] = p.get(k);
  }
  return v;
}

function saveHash() {
  const p = new URLSearchParams();
  p.set('lang', ui.lang);
  if (ui.netns) p.set('netns', ui.netns);
  if (ui.rangeChosen) p.set('range', ui.range);
  if (ui.split) {
    p.set('split', ui.split);
    p.set('state', ui.splitState);
  }
  if (ui.minAge !== 60) p.set('min_age', String(ui.minAge));
  if (ui.offBy !== 'process') p.set('by', ui.offBy);
  if (ui.selected) p.set('select', ui.selected);
  history.replaceState(null, '', '#' + p.toString());
}

/* ---- status line ---- */

async function loadStatus() {
  try {
    const hz = await getJSON('/healthz', { acceptStatus: [503] });
    const evBefore = ui.health && ui.health.events;
    ui.health = hz;
    // The tracer's panel follows /healthz: drawn (or its reason given) as soon as it is known.
    if (hz && hz.events !== evBefore) {
      ui.rendered.sockets = null;
      renderSockets();
      const doc = ui.statesDoc[ui.lang];
      if (doc) renderTopics(doc.topics);
      const sel = ui.selected && ui.stateDetail[`${ui.lang}/${ui.selected}`];
      if (sel) renderExplanation(sel);
      await loadEvents();
    }
    ui.healthError = null;
    if (hz && hz.interval_s > 0) ui.interval = hz.interval_s;
  } catch (e) {
    ui.healthError = e;
  }
  renderStatus();
}

/*
 * Whether what the page shows is current. Stale when lingerd does not answer, when it says its
 * sampler stalled, or when its newest snapshot is older than a few intervals by this clock too.
 */
function staleness() {
  if (ui.healthError) return 'unreachable';
  const hz = ui.health;
  if (!hz) return null;
  if ((hz.problems || []).includes('sampler_stalled')) return 'stalled';
  return null;
}

function renderStatus() {
  const hz = ui.health;
  const wasStale = ui.stale;
  ui.stale = staleness();
  if (hz && hz.last_snapshot_at) ui.dataAt = Math.max(ui.dataAt, hz.last_snapshot_at);
  const badge = $('#st-health');
  if (ui.healthError) {
    badge.textContent = t('health_unreachable');
    badge.className = 'badge bad';
  } else if (hz) {
    badge.textContent = hz.status === 'ok' ? hz.status : t('health_' + hz.status);
    badge.className = 'badge ' + (hz.status === 'ok' ? 'ok' : 'bad');
  }
  renderStale();
  if (wasStale !== ui.stale) {
    ui.rendered = {};
    renderLeaks();
    renderCounts();
    renderFindings();
  }
  if (!hz) return;
  $('#st-source').textContent = hz.source || '–';
  $('#st-interval').textContent = t('every_s', { n: hz.interval_s });
  const last = $('#st-last');
  if (hz.last_snapshot_at) {
    last.dateTime = new Date(hz.last_snapshot_at * 1000).toISOString();
    const age = Date.now() / 1000 - hz.last_snapshot_at;
    last.textContent = `${clock(hz.last_snapshot_at)} (${t('ago', { t: duration(ui.lang, age) })})`;
    last.parentElement.className = ui.stale ? 'stale-text' : '';
  } else {
    last.textContent = t('never');
  }
  const attr = $('#st-attribution');
  attr.textContent = t('attribution_' + hz.attribution);
  attr.className = hz.attribution === 'full' ? '' : 'warn-text';
  $('#st-snapshots').textContent = fmtNum(hz.snapshots);
  $('#st-took').textContent = t('took_ms', { n: Number(hz.last_duration_ms || 0).toFixed(1) });
  const probs = $('#problems');
  probs.replaceChildren(...(hz.problems || []).map((p) => h('li', { text: t('problem_' + p) })));
  probs.hidden = !(hz.problems && hz.problems.length);
}

/* Stale data stays on screen, greyed, each panel saying how old it is. */
function renderStale() {
  document.body.classList.toggle('stale', Boolean(ui.stale));
  const note = $('#stale');
  const text = ui.stale ? t('stale_' + ui.stale, {
    why: ui.healthError ? ui.healthError.message : '',
    t: ui.dataAt ? clock(ui.dataAt) : '–',
    age: ui.dataAt ? duration(ui.lang, Date.now() / 1000 - ui.dataAt) : '–',
  }) : '';
  note.textContent = text;
  note.hidden = !ui.stale;
  for (const panel of $$('main > .panel')) {
    let p = $('.panel-age', panel);
    if (!ui.stale) {
      if (p) p.remove();
      continue;
    }
    if (!p) {
      p = h('p', { class: 'panel-age' });
      $('.panel-head', panel).append(p);
    }
    p.textContent = t('panel_age', { t: ui.dataAt ? clock(ui.dataAt) : '–', age: ui.dataAt ? duration(ui.lang, Date.now() / 1000 - ui.dataAt) : '–' });
  }
}

/* ---- the headline: is this host in trouble, and which process ---- */

async function loadLeaks() {
  const current = ticket('leaks');
  try {
    const d = await getJSON(withNs('/api/v1/lingering?group_by=process&limit=50'));
    if (!current()) return;
    ui.leaks = d;
    recordSamples(d);
    showPanelError('headline-section', null);
  } catch (e) {
    if (current()) showPanelError('headline-section', e);
    return;
  }
  renderLeaks();
  renderCounts();
  if (eventsOff() === '') renderClosers();
}

/* Every answer is a raw sample of each process's count: the change per minute comes from them. */
function recordSamples(d) {
  const seen = new Set();
  for (const g of d.groups) {
    if (g.owner !== 'process') continue;
    const k = String(g.pid);
    seen.add(k);
    const list = ui.samples[k] || (ui.samples[k] = []);
    if (!list.length || list[list.length - 1][0] < d.taken_at) list.push([d.taken_at, g.total]);
    while (list.length > 2 && list[0][0] < d.taken_at - RATE_WINDOW_S) list.shift();
  }
  // A process missing from a complete answer holds none now.
  if (d.groups.length >= d.total_groups) for (const k of Object.keys(ui.samples)) if (!seen.has(k)) ui.samples[k].push([d.taken_at, 0]);
  for (const k of Object.keys(ui.samples)) {
    const list = ui.samples[k];
    if (list[list.length - 1][1] === 0 && list[list.length - 1][0] < d.taken_at - RATE_WINDOW_S) delete ui.samples[k];
  }
}

/*
 * Change per minute over the page's own samples of this pid, once they span two intervals. (The
 * API's growth_per_min is kept per process name from the minute history: it lags, and it mixes
 * every process of that name.)
 */
function changePerMin(g) {
  const list = ui.samples[String(g.pid)];
  if (list && list.length >= 2) {
    const [t0, n0] = list[0];
    const [t1, n1] = list[list.length - 1];
    if (t1 - t0 >= 2 * ui.interval - 0.01) return { v: (n1 - n0) / (t1 - t0) * 60, span: t1 - t0 };
  }
  return null;
}

function worstFindingOf(pid) {
  let worst = null;
  for (const f of (ui.findings && ui.findings.findings) || []) {
    if (!f.subject || f.subject.pid !== pid) continue;
    if (!worst || SEV_RANK[f.severity] > SEV_RANK[worst.severity]) worst = f;
  }
  return worst;
}

/*
 * The processes worth a headline row: those a finding names, and young ones that already held
 * their sockets for two samples or whose count grows (the findings wait for min_age).
 */
function leakRows() {
  const d = ui.leaks;
  if (!d) return null;
  const rows = [];
  for (const g of d.groups) {
    if (g.owner !== 'process' || !g.total) continue;
    const finding = worstFindingOf(g.pid);
    const change = changePerMin(g);
    const young = !finding && (g.oldest_age_s >= 2 * ui.interval || (change && change.v > 0));
    if (!finding && !young) continue;
    const sev = finding ? finding.severity : change && change.v > 0 ? 'warning' : 'info';
    rows.push({ g, finding, change, sev, taken_at: d.taken_at });
  }
  rows.sort((a, b) => SEV_RANK[b.sev] - SEV_RANK[a.sev] || b.g.total - a.g.total);
  return rows;
}

/* The state that makes up most of a process's lingering sockets. */
function mainState(g) {
  return Object.entries(g.counts).sort((a, b) => b[1] - a[1])[0][0];
}

/* When the oldest of these sockets entered its state; "≥" when that predates what lingerd saw. */
function sinceText(g, takenAt) {
  const since = takenAt - g.oldest_age_s;
  // The API says so when it knows (the socket was already in its state when lingerd first saw
  // it); an older lingerd does not, and then history's start is the bound.
  const lower = g.oldest_age_lower_bound != null ? g.oldest_age_lower_bound
    : ui.historyStart != null && since <= ui.historyStart + ui.historyStep + ui.interval;
  return { text: (lower ? '≥ ' : '') + clock(since), title: t(lower ? 'since_lower' : 'since_title', { t: clock(since), age: duration(ui.lang, g.oldest_age_s) }), lower };
}

function changeText(change) {
  if (!change) return { text: '–', cls: '', title: t('change_wait') };
  const v = Math.round(change.v * 10) / 10;
  const sign = v > 0 ? '+' : v < 0 ? '−' : '±';
  return { text: t('per_min', { n: sign + fmtNum(Math.abs(v)) }), cls: v > 0 ? ' up' : '', title: t('change_over', { t: duration(ui.lang, change.span) }) };
}

function verdict(rows) {
  if (ui.stale) return { sev: 'unknown', text: t('verdict_stale') };
  const f = ui.findings;
  if (!f || !rows) return { sev: 'unknown', text: t('loading') };
  let sev = null;
  for (const x of f.findings) if (!sev || SEV_RANK[x.severity] > SEV_RANK[sev]) sev = x.severity;
  for (const r of rows) if (!sev || SEV_RANK[r.sev] > SEV_RANK[sev]) sev = r.sev;
  if (!sev) return { sev: 'ok', text: t('verdict_ok', { t: duration(ui.lang, ui.minAge) }) };
  const n = f.findings.length;
  const parts = [];
  if (n) parts.push(t(n === 1 ? 'verdict_finding' : 'verdict_findings', { n: fmtNum(n) }));
  if (rows.length) parts.push(t(rows.length === 1 ? 'verdict_process' : 'verdict_processes', { n: fmtNum(rows.length) }));
  return { sev, text: parts.join(t('list_sep')) };
}

function renderLeaks() {
  const rows = leakRows();
  const v = verdict(rows);
  const badge = $('#verdict');
  badge.className = 'badge sev-' + v.sev;
  badge.textContent = t('sev_' + v.sev);
  $('#verdict-text').textContent = v.text;
  $('#headline-section').dataset.severity = v.sev;
  if (!rows) return;
  const anyFds = rows.some((r) => r.g.fd_limit != null);
  for (const th of $$('#leaks .fds-col')) th.hidden = !anyFds;
  const key = JSON.stringify([ui.lang, ui.stale, anyFds, rows.map((r) => [r.g, r.sev, r.change && Math.round(r.change.v * 10)])]);
  if (ui.rendered.leaks === key) return;
  ui.rendered.leaks = key;
  const body = $('#leaks tbody');
  if (!rows.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: ui.stale ? t('unknown_now') : t('no_leaks') })));
    return;
  }
  body.replaceChildren(...rows.slice(0, LEAKS_SHOWN).map((r) => {
    const g = r.g;
    const st = mainState(g);
    const since = sinceText(g, r.taken_at);
    const ch = changeText(r.change);
    const chips = Object.entries(g.counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([s2, n]) =>
      h('li', { class: 'chip' }, h('abbr', { title: s2, text: SHORT[s2] || s2 }), ' ', fmtNum(n)));
    const fdsPct = g.fd_limit ? g.fds / g.fd_limit : 0;
    const todo = t('todo_' + (has('todo_' + st) ? st : 'other'), { comm: g.comm, pid: g.pid });
    return h('tr', { class: 'sev-' + r.sev, 'data-pid': g.pid },
      h('th', { scope: 'row', class: 'who' },
        h('span', { class: 'badge sev-' + r.sev, text: t('sev_' + r.sev) }), ' ',
        h('strong', { class: 'proc', title: g.cmdline || null, text: g.comm }), ' ',
        h('span', { class: 'muted', text: `pid ${g.pid}` })),
      h('td', { class: 'num holds', 'data-label': t('col_holds') }, h('span', { class: 'big', text: fmtNum(g.total) }), h('ul', { class: 'chips' }, chips)),
      h('td', { class: 'num' + ch.cls, 'data-label': t('col_change'), title: ch.title, text: ch.text }),
      h('td', { class: 'num', 'data-label': t('col_first_seen'), title: since.title, text: since.text }),
      anyFds ? h('td', { class: 'num fds-col' + (fdsPct >= 0.8 ? ' up' : ''), 'data-label': t('col_fds'), text: g.fd_limit != null ? `${fmtNum(g.fds)} / ${fmtNum(g.fd_limit)}` : '–' }) : null,
      h('td', { class: 'todo' }, h('span', { text: todo }), ' ',
        h('button', { type: 'button', class: 'link', onclick: () => showSocketsOf({ process: String(g.pid) }), text: t('list_them') })));
  }));
}

/* ---- counts per state ---- */

async function loadSnapshot() {
  const current = ticket('snapshot');
  try {
    const d = await getJSON(withNs('/api/v1/snapshot'));
    if (!current()) return;
    ui.snapshot = d;
    showPanelError('counts-section', null);
  } catch (e) {
    if (!current()) return;
    if (!(e instanceof NetError)) ui.snapshot = null;
    showPanelError('counts-section', e);
  }
  renderCounts();
  if (ui.selected) renderExplainCount();
}

async function loadDeltas() {
  const current = ticket('deltas');
  try {
    const d = await getJSON(withNs(`/api/v1/trends?states=${ALL_STATES.join(',')}&from=-1h&to=now`));
    if (!current()) return;
    const deltas = {};
    let first = null;
    for (const s of d.series) {
      if (!s.points.length) continue;
      deltas[s.state] = { base: s.points[0][1], t: s.points[0][0], from: d.from };
      if (first == null || s.points[0][0] < first) first = s.points[0][0];
    }
    ui.deltas = deltas;
    // History younger than the hour: changes and first-seen times are measured from its start.
    ui.historyStart = first != null && first > d.from + 60 ? first : null;
    ui.historyStep = d.step; // the first point stands for a step that began with history
  } catch (e) {
    if (!current()) return;
    if (!(e instanceof NetError)) ui.deltas = null;
  }
  renderCounts();
}

/* The worst severity per state, from the findings and the headline's processes. */
function problemStates() {
  const out = {};
  const bump = (st, sev) => {
    if (st && (!out[st] || SEV_RANK[sev] > SEV_RANK[out[st]])) out[st] = sev;
  };
  for (const f of (ui.findings && ui.findings.findings) || []) bump(FINDING_STATE[f.id.split('/')[0]], f.severity);
  for (const r of leakRows() || []) bump(mainState(r.g), r.sev);
  return out;
}

function renderCounts() {
  const list = $('#counts');
  const snap = ui.snapshot;
  const problems = problemStates();
  if (diagram) diagram.setCounts(snap && snap.counts, problems);
  if (!list.children.length) {
    for (const state of ALL_STATES) {
      list.appendChild(h('li', { 'data-state': state },
        h('button', { type: 'button', class: 'card', onclick: () => selectState(state, { scroll: true }) },
          h('span', { class: 'card-name', text: state }),
          h('span', { class: 'card-count', text: '–' }),
          h('span', { class: 'card-delta' }))));
    }
  }
  for (const li of list.children) {
    const state = li.dataset.state;
    const n = snap ? snap.counts[state] : null;
    const ling = ui.lingering.has(state);
    const sev = n > 0 ? problems[state] : null;
    li.className = (ling ? 'lingering' : '') + (sev ? ` problem sev-${sev}` : '');
    $('.card-count', li).textContent = fmtNum(n);
    const dEl = $('.card-delta', li);
    const dl = ui.deltas && ui.deltas[state];
    if (dl && n != null) {
      const base = Math.round(dl.base);
      const diff = n - base;
      const sign = diff > 0 ? '+' : diff < 0 ? '−' : '±';
      const txt = sign + fmtNum(Math.abs(diff));
      const full = dl.t <= dl.from + 60; // history reaches back the whole hour
      dEl.textContent = full ? t('change_1h', { d: txt }) : t('change_since', { d: txt, t: clockShort(dl.t) });
      dEl.title = t(full ? 'change_title' : 'change_title_start', { base: fmtNum(base), t: clock(dl.t), now: fmtNum(n) });
      dEl.className = 'card-delta' + (diff > 0 && sev ? ' up' : '');
    } else {
      dEl.textContent = ui.deltas ? t('change_none') : '';
      dEl.title = '';
      dEl.className = 'card-delta';
    }
  }
}

/* ---- trends ---- */

let chart = null;
let chartKey = '';
let trendRange = { from: 0, to: 1 }; // the x range of the chart: the whole requested range

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/*
 * The whole range once, then at short ranges only what is new: the last step again (it may
 * have been partial) and everything after it, merged into what the page holds.
 */
async function loadTrends({ full = false } = {}) {
  const secs = RANGES[ui.range];
  const shape = [ui.range, ui.split, ui.splitState, ui.netns, [...ui.lingering].join(',')].join('|');
  const old = ui.trends;
  const incremental = !full && old && old.shape === shape && old.resolution === 'raw' &&
    Date.now() / 1000 - old.fullAt < 300 && old.lastT != null;
  let url = '/api/v1/trends?to=now';
  if (incremental) url += `&from=${old.lastT}&step=${old.step}&resolution=raw`;
  else url += `&from=-${secs}`;
  // Past two days lingerd would read its hourly rollups, which lack the hour in progress; the
  // minute rollups (kept as long) summed into hourly steps reach up to the last minute.
  if (secs > 2 * 86400) url += '&resolution=minute';
  if (splitOn()) url += `&by=${ui.split}&states=${ui.splitState}&top=8`;
  else url += `&states=${[...ui.lingering].join(',')}`;
  const current = ticket('trends');
  let d;
  try {
    d = await getJSON(withNs(url));
    if (!current()) return;
    showPanelError('trends-section', null);
  } catch (e) {
    if (current()) showPanelError('trends-section', e);
    return;
  }
  if (incremental) d = mergeTrends(old, d, secs);
  else {
    d.shape = shape;
    d.fullAt = Date.now() / 1000;
  }
  d.lastT = null;
  for (const s2 of d.series) for (const p of s2.points) if (d.lastT == null || p[0] > d.lastT) d.lastT = p[0];
  if (d.lastT == null) d.lastT = Math.floor(d.to / d.step) * d.step;
  ui.trends = d;
  renderTrends();
}

function mergeTrends(old, d, secs) {
  const byKey = (s2) => `${s2.state}|${s2.group || ''}`;
  const fresh = new Map(d.series.map((s2) => [byKey(s2), s2.points]));
  const from = d.to - secs;
  const series = old.series.map((s2) => {
    const add = fresh.get(byKey(s2)) || [];
    fresh.delete(byKey(s2));
    return { ...s2, points: s2.points.filter((p) => p[0] >= from && p[0] < old.lastT).concat(add) };
  });
  for (const s2 of d.series) if (fresh.has(byKey(s2))) series.push(s2);
  return { ...old, series, from, to: d.to };
}

function trendSeries(d) {
  if (!d.by) {
    // Every lingering state gets a line, in a fixed order and colour, even without data.
    const byState = Object.fromEntries(d.series.map((s) => [s.state, s]));
    const colors = STATE_COLORS[darkQuery.matches ? 'dark' : 'light'];
    return ALL_STATES.filter((s) => ui.lingering.has(s)).map((state) => ({
      label: state, color: colors[state] || PALETTE[0], dash: STATE_DASH[state], points: byState[state] ? byState[state].points : [],
    }));
  }
  return d.series.map((s, i) => ({ label: s.group || '?', color: PALETTE[i % PALETTE.length], points: s.points }));
}

/* Time axis labels in 24-hour time; dates once the range spans days. */
function timeLabels(u, splits) {
  const span = trendRange.to - trendRange.from;
  return splits.map((v) => {
    const d = new Date(v * 1000);
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    if (span > 2 * 86400) return hm === '00:00' ? `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}` : hm;
    if (span <= 900) return `${hm}:${pad2(d.getSeconds())}`;
    return hm;
  });
}

function renderTrends() {
  const d = ui.trends;
  if (!d || typeof uPlot === 'undefined') return;
  const series = trendSeries(d);
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const s of series) {
    const ys = new Array(xs.length).fill(null);
    // The most sockets seen in each step: whole sockets, and a short spike is not averaged away.
    // A log scale has no zero: those points are left out rather than drawn at the bottom.
    for (const p of s.points) ys[idx.get(p[0])] = ui.logScale && p[2] <= 0 ? null : p[2];
    data.push(ys);
  }
  $('#chart-empty').hidden = xs.length > 0;
  const res = t('res_' + d.resolution);
  $('#chart-caption').textContent = t('trends_caption', { res, step: duration(ui.lang, d.step) });

  const box = $('#chart');
  const width = Math.max(240, box.clientWidth);
  const key = [ui.lang, d.by || '', ui.splitState, ui.logScale, series.map((s) => s.label).join(','), darkQuery.matches].join('|');
  // History younger than the range: the chart starts where the data starts.
  const first = xs.length ? xs[0] : d.from;
  trendRange = { from: Math.max(d.from, Math.min(first, d.to - 60) - d.step), to: d.to };
  if (!chart || key !== chartKey) {
    if (chart) chart.destroy();
    chartKey = key;
    chart = new uPlot(chartOptions(series, width), data, box);
  } else {
    chart.setData(data);
  }
}

/* Without a cursor on the chart the legend shows the latest values, not dashes. */
function legendLatest(u) {
  if (u.cursor.idx == null && u.data && u.data[0].length) u.setLegend({ idx: u.data[0].length - 1 }, false);
}

function chartOptions(series, width) {
  const fg = cssVar('--muted');
  const grid = cssVar('--grid');
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: 300,
    scales: {
      x: { time: true, range: () => [trendRange.from, trendRange.to] },
      y: ui.logScale
        ? { distr: 3, range: (u, min, max) => [1, Math.max(10, (max || 1) * 2)] }
        : { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
    },
    series: [{ label: t('time'), value: (u, v) => (v == null ? '–' : clock(v)) }, ...series.map((s) => ({
      label: s.label, stroke: s.color, width: 2, spanGaps: false, dash: s.dash,
      value: (u, v) => (v == null ? '–' : fmtNum(Math.round(v * 10) / 10)),
    }))],
    axes: [{ ...axis, values: timeLabels, space: 64 }, { ...axis, size: 56 }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    hooks: { ready: [legendLatest], setData: [legendLatest], setCursor: [legendLatest] },
  };
}

function fillStateSelects() {
  const split = $('#split-state');
  split.replaceChildren(...ALL_STATES.filter((s) => ui.lingering.has(s)).map((s) => h('option', { value: s, text: s })));
  split.value = ui.splitState;
  showSplitState();
  const fs = $('#f-state');
  const cur = fs.value;
  fs.replaceChildren(h('option', { value: '', text: t('filter_all') }),
    ...ALL_STATES.map((s) => h('option', { value: s, text: s })));
  fs.value = cur || (ui.sockets.filter.state || '');
}

/* ---- state machine and explanations ---- */

let diagram = null;

async function loadStatesDoc() {
  const lang = ui.lang;
  if (!ui.statesDoc[lang]) {
    try {
      ui.statesDoc[lang] = await getJSON(`/api/v1/states?lang=${lang}`);
    } catch (e) {
      showPanelError('machine-section', e);
      return;
    }
  }
  const doc = ui.statesDoc[lang];
  const ling = new Set(doc.states.filter((s) => s.lingering).map((s) => s.state));
  if (ling.size) ui.lingering = ling;
  renderTopics(doc.topics);
}

async function selectState(state, { scroll = false, focus = false } = {}) {
  if (scroll) $('#machine-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
  await showExplanation(state, { focus });
}

async function showExplanation(state, { focus = true } = {}) {
  ui.selected = state;
  diagram.select(state);
  saveHash();
  const key = `${ui.lang}/${state}`;
  const box = $('#explain');
  if (!ui.stateDetail[key]) {
    box.setAttribute('aria-busy', 'true');
    try {
      ui.stateDetail[key] = await getJSON(`/api/v1/states/${encodeURIComponent(state)}?lang=${ui.lang}`);
    } catch (e) {
      box.replaceChildren(h('p', { class: 'error', text: t('error', { msg: e.message }) }));
      box.removeAttribute('aria-busy');
      return;
    }
  }
  if (ui.selected !== state) return; // another state was picked meanwhile
  renderExplanation(ui.stateDetail[key]);
  box.removeAttribute('aria-busy');
  if (focus) box.focus({ preventScroll: true });
}

function renderExplanation(s) {
  const box = $('#explain');
  box.dataset.state = s.state;
  box.lang = ui.lang;
  const badges = h('p', { class: 'badges' },
    s.lingering ? h('span', { class: 'badge linger', text: t('lingering') }) : null,
    h('span', { class: 'badge ' + (s.bounded === 'no' ? 'bad' : 'neutral'), text: t('bounded_' + s.bounded) }),
    s.max_seconds != null ? h('span', { class: 'badge neutral', text: t('max_seconds', { t: duration(ui.lang, s.max_seconds) }) }) : null);
  const sections = [];
  // What to do comes first: the reader at 3 a.m. wants it before the theory.
  for (const k of ['remedy', 'problem_when', 'meaning', 'reached_by_text', 'enters_on', 'leaves_on', 'duration_bound', 'kernel']) {
    if (!s[k]) continue;
    const label = k === 'reached_by_text' ? 'reached_by' : k;
    sections.push(h('dt', { text: t(label) }), h('dd', { class: k === 'remedy' ? 'remedy' : null, text: s[k] }));
  }
  const chips = (key, items) => (items && items.length
    ? [h('dt', { text: t(key) }), h('dd', {}, h('ul', { class: 'chips' }, items.map((x) => h('li', {}, h('code', { text: x })))))]
    : []);
  const next = s.next && s.next.length
    ? [h('dt', { text: t('next_states') }), h('dd', {}, h('ul', { class: 'chips' }, s.next.map((n) =>
      h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => showExplanation(n), text: n })))))]
    : [];
  box.replaceChildren(
    h('h3', { id: 'explain-title', text: s.title }),
    badges,
    h('p', { class: 'explain-now' }, h('span', { id: 'explain-count' }), ' ',
      h('button', { type: 'button', class: 'link', onclick: () => showSocketsOf({ state: s.state }), text: t('explain_list') })),
    h('dl', { class: 'explain-dl' }, sections, chips('settings_rel', s.settings), chips('counters_rel', s.counters), next),
    tryIt(DEMO[s.state] || ['lingerd demo']));
  renderExplainCount();
}

function renderExplainCount() {
  const c = $('#explain-count');
  if (!c || !ui.snapshot || !ui.selected) return;
  c.textContent = t('explain_now', { n: fmtNum(ui.snapshot.counts[ui.selected]) });
}

function renderTopics(topics) {
  const box = $('#topics');
  if (!topics) return;
  const out = [];
  const table = (cols, rows) => h('div', { class: 'table-wrap', tabindex: 0 }, h('table', { class: 'data topic-table' },
    h('thead', {}, h('tr', {}, cols.map(([, label]) => h('th', { scope: 'col', text: label })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map(([k]) => {
      let v = r[k];
      if (typeof v === 'boolean') v = v ? t('yes') : t('no');
      if (k === 'from' && has('role_' + v)) v = t('role_' + v);
      if (Array.isArray(v)) v = v.join(', ');
      return h('td', { text: v == null ? '–' : String(v) });
    }))))));
  for (const k of ['three_way_open', 'four_way_close']) {
    const tp = topics[k];
    if (!tp) continue;
    out.push(h('h3', { text: tp.title }), h('p', { text: tp.text }));
    if (k === 'four_way_close') out.push(sequenceDiagram(tp.steps), tryIt(['lingerd lab linger']));
    out.push(table([['step', t('step')], ['from', t('from')], ['segment', t('segment')],
      ['active_state', t('active_state')], ['passive_state', t('passive_state')], ['text', t('what_happens')]], tp.steps || []));
  }
  if (topics.two_msl) {
    out.push(h('h3', { text: topics.two_msl.title }), h('p', { text: topics.two_msl.text }),
      h('ul', {}, (topics.two_msl.reasons || []).map((r) => h('li', { text: r }))));
  }
  if (topics.so_linger) {
    out.push(h('h3', { text: topics.so_linger.title }), h('p', { text: topics.so_linger.text }),
      table([['setting', t('setting')], ['title', ''], ['sends', t('sends')], ['time_wait', t('time_wait_q')],
        ['close', t('close_q')], ['unsent_data', t('unsent_data')], ['advice', t('advice')]], topics.so_linger.cases || []),
      tryIt(['lingerd lab linger']));
  }
  if (topics.so_reuseaddr) {
    const r = topics.so_reuseaddr;
    out.push(h('h3', { text: r.title }), h('p', { text: r.text }),
      h('h4', { text: t('does') }), h('ul', {}, (r.does || []).map((x) => h('li', { text: x }))),
      h('h4', { text: t('does_not') }), h('ul', {}, (r.does_not || []).map((x) => h('li', { text: x }))),
      r.snippet ? h('pre', {}, h('code', { text: r.snippet })) : null, tryIt(['lingerd lab reuseaddr']));
  }
  if (topics.ephemeral_ports) out.push(h('h3', { text: topics.ephemeral_ports.title }), h('p', { text: topics.ephemeral_ports.text }));
  if (topics.sysctls) {
    out.push(h('h3', { text: 'sysctl' }), table([['name', t('col_name')], ['default', t('default_v')],
      ['what', t('col_what')], ['advice', t('advice')], ['affects', t('affects')]], topics.sysctls));
  }
  box.replaceChildren(...out);
}

/* The four-way close as a sequence chart: two timelines, the segments between them. */
function sequenceDiagram(steps) {
  const NS = 'http://www.w3.org/2000/svg';
  const s = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text != null) e.textContent = text;
    return e;
  };
  const rows = steps || [];
  const W = 640;
  const top = 40;
  const gap = 54;
  const H = top + gap * rows.length + 40;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'sequence', role: 'img', 'aria-label': t('four_way_close') });
  const L = 170;
  const R = 470;
  svg.append(s('text', { x: L, y: 20, 'text-anchor': 'middle', class: 'seq-head' }, t('active_state')),
    s('text', { x: R, y: 20, 'text-anchor': 'middle', class: 'seq-head' }, t('passive_state')),
    s('line', { x1: L, y1: 28, x2: L, y2: H - 10, class: 'seq-life' }),
    s('line', { x1: R, y1: 28, x2: R, y2: H - 10, class: 'seq-life' }));
  const mk = s('marker', { id: 'seq-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  mk.append(s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  const defs = s('defs', {});
  defs.append(mk);
  svg.prepend(defs);
  rows.forEach((r, i) => {
    const y = top + gap * i;
    const fromActive = r.from === 'active_closer';
    const [x1, x2] = fromActive ? [L, R] : [R, L];
    svg.append(s('line', { x1, y1: y, x2, y2: y + gap - 14, class: 'seq-msg', 'marker-end': 'url(#seq-arrow)' }),
      s('text', { x: (L + R) / 2, y: y + gap / 2 - 10, 'text-anchor': 'middle', class: 'seq-seg' }, r.segment),
      s('text', { x: L - 10, y: y + gap - 10, 'text-anchor': 'end', class: 'seq-state' }, r.active_state),
      s('text', { x: R + 10, y: y + gap - 10, 'text-anchor': 'start', class: 'seq-state' }, r.passive_state));
  });
  return svg;
}

/* ---- top offenders ---- */

async function loadOffenders() {
  const current = ticket('offenders');
  try {
    const d = await getJSON(withNs(`/api/v1/lingering?group_by=${ui.offBy}&limit=10`));
    if (!current()) return;
    ui.offenders = d;
    showPanelError('offenders-section', null);
  } catch (e) {
    showPanelError('offenders-section', e);
    return;
  }
  renderOffenders();
}

function offenderWho(g) {
  switch (ui.offBy) {
    case 'process':
      if (g.owner === 'process') {
        return { node: h('span', { title: g.cmdline || null }, h('strong', { text: g.comm }), ' ', h('span', { class: 'muted', text: `pid ${g.pid}` })),
          name: `${g.comm} (${g.pid})`, filter: { process: String(g.pid) } };
      }
      if (g.owner === 'orphan') return { node: h('span', { class: 'muted', text: t('orphans_kernel') }), name: t('orphans_kernel'), filter: null };
      // With the teardown tracer: kernel-owned sockets grouped by the process that closed them.
      if (g.owner === 'closed_by') {
        return { node: h('span', {}, h('span', { class: 'muted', text: t('closed_by') + ' ' }), h('strong', { class: 'proc', text: g.comm }), ' ', h('span', { class: 'muted', text: `pid ${g.pid}` })),
          name: `${g.comm} (${g.pid})`, filter: null };
      }
      return { node: h('span', { text: t('unknown_uid', { uid: g.uid }) }), name: g.key, filter: null };
    case 'local_port':
      return { node: h('code', { text: ':' + g.local_port }), name: ':' + g.local_port, filter: { port: String(g.local_port) } };
    case 'remote':
      return { node: h('code', { text: g.remote }), name: g.remote, filter: null };
    default:
      return { node: h('code', { text: ':' + g.remote_port }), name: ':' + g.remote_port, filter: { port: String(g.remote_port) } };
  }
}

function renderOffenders() {
  for (const b of $$('#offender-by button')) b.setAttribute('aria-pressed', String(b.dataset.by === ui.offBy));
  const d = ui.offenders;
  if (!d) return;
  const key = ui.lang + JSON.stringify(d.groups);
  if (ui.rendered.offenders === key) return;
  ui.rendered.offenders = key;
  const body = $('#offenders tbody');
  if (!d.groups.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: t('none_lingering') })));
    return;
  }
  body.replaceChildren(...d.groups.map((g) => {
    const who = offenderWho(g);
    const chips = Object.entries(g.counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([st, n]) =>
      h('li', { class: 'chip st-' + st }, h('abbr', { title: st, text: SHORT[st] || st }), ' ', fmtNum(n)));
    if (g.unread_bytes > 0) chips.push(h('li', { class: 'chip unread', text: `${fmtNum(g.unread_bytes)} B ${t('col_unread').toLowerCase()}` }));
    const growth = g.growth_per_min;
    return h('tr', { 'data-key': g.key },
      h('th', { scope: 'row', class: 'who' }, who.node),
      h('td', { class: 'num', text: fmtNum(g.total) }),
      h('td', {}, h('ul', { class: 'chips' }, chips)),
      h('td', { class: 'num', text: ageText(g.oldest_age_s, g.oldest_age_lower_bound) }),
      h('td', { class: 'num' + (growth > 0 ? ' up' : ''), text: growth == null ? '–' : t('per_min', { n: (growth > 0 ? '+' : '') + (Math.round(growth * 10) / 10) }) }),
      h('td', {}, who.filter ? h('button', { type: 'button', class: 'link', 'aria-label': t('show_sockets_of', { who: who.name }),
        onclick: () => showSocketsOf(who.filter), text: t('show_sockets') }) : null));
  }));
}

/* The lab demo that shows each state: `lingerd lab linger` closes under each SO_LINGER setting. */
const DEMO = {
  FIN_WAIT_1: ['lingerd lab linger'], FIN_WAIT_2: ['lingerd lab linger'], CLOSING: ['lingerd lab linger'],
  TIME_WAIT: ['lingerd lab linger', 'lingerd lab reuseaddr'],
};

/* ---- who closed them: the eBPF teardown tracer ---- */

const TRACEABLE = new Set(['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK']);
const HIST_STATES = ['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING', 'lifetime'];
const HIST_BUCKETS = 32;

/* The tracer's state from /healthz: null while unknown, '' when on, else why it is off. */
function eventsOff() {
  const ev = ui.health && ui.health.events;
  if (ev == null) return null;
  return ev === 'bpf' ? '' : String(ev).replace(/^off: /, '');
}

async function loadEvents() {
  if (eventsOff() !== '') {
    renderEvents();
    return;
  }
  const current = ticket('events');
  try {
    const d = await getJSON(withNs('/api/v1/events'));
    if (!current()) return;
    ui.events = d;
  } catch (e) {
    if (!current()) return;
    showPanelError('events-section', e);
    return;
  }
  renderEvents();
}

function renderEvents() {
  const off = eventsOff();
  const note = $('#events-off');
  note.hidden = off == null || off === '';
  if (off) note.textContent = t('events_off', { why: off });
  $('#events-body').hidden = off !== '';
  if (off !== '') return;
  renderClosers();
  renderHistograms();
}

/* Kernel-owned sockets grouped by their closer: the headline's answer, already fetched. */
function renderClosers() {
  const groups = ((ui.leaks && ui.leaks.groups) || []).filter((g) => g.owner === 'closed_by');
  const key = ui.lang + JSON.stringify(groups.map((g) => [g.pid, g.comm, g.counts, g.oldest_age_s]));
  if (ui.rendered.closers === key) return;
  ui.rendered.closers = key;
  const body = $('#closers tbody');
  if (!groups.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'empty', text: t('closers_none') })));
    return;
  }
  body.replaceChildren(...groups.map((g) => h('tr', { 'data-pid': g.pid },
    h('th', { scope: 'row', class: 'who' }, h('strong', { class: 'proc', text: g.comm }), ' ', h('span', { class: 'muted', text: `pid ${g.pid}` })),
    h('td', { class: 'num', text: fmtNum(g.counts.TIME_WAIT || 0) }),
    h('td', { class: 'num', text: fmtNum(g.total - (g.counts.TIME_WAIT || 0)) }),
    h('td', { class: 'num', text: ageText(g.oldest_age_s, g.oldest_age_lower_bound) }))));
}

/* A duration in microseconds, short: "8 µs", "33 ms", "1.0 s", "17 min". */
function usText(us) {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${Math.round(us / 1000)} ms`;
  if (us < 120e6) return `${(us / 1e6).toFixed(1)} s`;
  return duration(ui.lang, us / 1e6);
}

/* Bucket b counts durations in [2^(b-1), 2^b) µs: the median's bucket's upper bound. */
function histMedian(hg) {
  let seen = 0;
  for (let b = 0; b < hg.log2_us_buckets.length; b++) {
    seen += hg.log2_us_buckets[b];
    if (seen * 2 >= hg.count) return 2 ** b;
  }
  return null;
}

function svgEl(name, attrs, text) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

/* One small bar chart per teardown state: log2 buckets from 1 µs to ~36 min, ticks at µs, ms, s. */
function renderHistograms() {
  const d = ui.events;
  if (!d) return;
  const key = ui.lang + JSON.stringify(d.durations);
  if (ui.rendered.hist === key) return;
  ui.rendered.hist = key;
  const W = 320;
  const H = 96;
  const bw = W / HIST_BUCKETS;
  const charts = HIST_STATES.map((st) => {
    const hg = d.durations[st] || { log2_us_buckets: new Array(HIST_BUCKETS).fill(0), count: 0, sum_s: 0 };
    const name = st === 'lifetime' ? t('hist_lifetime') : st;
    const label = hg.count ? t('hist_label', { state: name, n: fmtNum(hg.count), m: usText(histMedian(hg)) }) : t('hist_empty', { state: name });
    const max = Math.max(1, ...hg.log2_us_buckets);
    const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H + 16}`, class: 'hist', role: 'img', 'aria-label': label });
    hg.log2_us_buckets.forEach((n, b) => {
      if (!n) return;
      const bh = Math.max(2, (H - 4) * n / max);
      const r = svgEl('rect', { 'data-bucket': b, 'data-n': n, x: b * bw + 1, y: H - bh, width: bw - 2, height: bh, class: 'hist-bar' + (st === 'lifetime' ? ' life' : '') });
      r.append(svgEl('title', {}, `${fmtNum(n)} × ${b ? usText(2 ** (b - 1)) : '0'}–${usText(2 ** b)}`));
      svg.append(r);
    });
    svg.append(svgEl('line', { x1: 0, y1: H, x2: W, y2: H, class: 'hist-axis' }));
    for (const [b, txt] of [[1, '1 µs'], [11, '1 ms'], [21, '1 s'], [27, '1 min']]) {
      svg.append(svgEl('text', { x: b * bw, y: H + 13, class: 'hist-tick', 'text-anchor': 'middle' }, txt));
    }
    return h('figure', { class: 'hist-fig', 'data-state': st, 'data-count': hg.count },
      h('figcaption', {}, h('span', { class: st === 'lifetime' ? null : 'state-tag st-' + st, text: name }), ' ',
        h('span', { class: 'muted', text: hg.count ? `n = ${fmtNum(hg.count)} · ≤ ${usText(histMedian(hg))}` : '–' })),
      svg);
  });
  $('#histograms').replaceChildren(...charts);
}

/*
 * A state change of one socket as the segments of the four-way close: what crossed the wire, in
 * which direction, and the states on both ends after it (the peer's inferred from ours).
 */
function closeSegments(steps) {
  const out = [];
  const tw = 'TIME_WAIT'; // the kernel reports CLOSED; a timewait socket takes over
  for (const s of steps) {
    const add = (seg, outward, mine, peer) => out.push({ at: s.at, seg, outward, mine, peer, pid: outward ? s.pid : null });
    switch (`${s.from}>${s.to}`) {
      case 'ESTABLISHED>FIN_WAIT_1': add('FIN', true, 'FIN_WAIT_1', 'CLOSE_WAIT'); break;
      case 'FIN_WAIT_1>FIN_WAIT_2': add('ACK', false, 'FIN_WAIT_2', 'CLOSE_WAIT'); break;
      case 'FIN_WAIT_2>CLOSED':
      case 'FIN_WAIT_2>TIME_WAIT': add('FIN', false, 'FIN_WAIT_2', 'LAST_ACK'); add('ACK', true, tw, 'CLOSED'); break;
      case 'FIN_WAIT_1>CLOSING': add('FIN', false, 'CLOSING', 'CLOSING'); break;
      case 'CLOSING>CLOSED':
      case 'CLOSING>TIME_WAIT': add('ACK', false, tw, 'TIME_WAIT'); break;
      case 'FIN_WAIT_1>CLOSED':
      case 'FIN_WAIT_1>TIME_WAIT': add('FIN+ACK', false, 'FIN_WAIT_1', 'LAST_ACK'); add('ACK', true, tw, 'CLOSED'); break;
      case 'ESTABLISHED>CLOSE_WAIT': add('FIN', false, 'CLOSE_WAIT', 'FIN_WAIT_1'); add('ACK', true, 'CLOSE_WAIT', 'FIN_WAIT_2'); break;
      case 'CLOSE_WAIT>LAST_ACK': add('FIN', true, 'LAST_ACK', 'TIME_WAIT'); break;
      case 'LAST_ACK>CLOSED': add('ACK', false, 'CLOSED', 'TIME_WAIT'); break;
      default: add(s.pid ? 'RST' : `${s.from} → ${s.to}`, Boolean(s.pid), s.to, '');
    }
    // The process belongs to the step, whichever segment it sent.
    if (s.pid && !out.some((x) => x.pid === s.pid && x.at === s.at)) out[out.length - 1].pid = s.pid;
  }
  return out;
}

function procName(pid, d) {
  if (!pid) return t('by_kernel');
  return d.closed_by && d.closed_by.pid === pid ? `${d.closed_by.comm} (pid ${pid})` : `pid ${pid}`;
}

/* The clock with milliseconds: steps of a close are often microseconds apart. */
function clockMs(ts) {
  return `${clock(ts)}.${String(Math.floor((ts % 1) * 1000)).padStart(3, '0')}`;
}

/* One socket's close, fetched from /api/v1/sockets/{cookie}, drawn as the seed's sequence chart. */
async function traceSocket(sock) {
  const box = $('#timeline');
  box.setAttribute('aria-busy', 'true');
  $('#events-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
  let d;
  try {
    d = await getJSON('/api/v1/sockets/' + encodeURIComponent(sock.cookie));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', text: t('error', { msg: e.message }) }));
    box.removeAttribute('aria-busy');
    return;
  }
  const head = [h('p', { class: 'timeline-of' }, h('code', { class: 'token', text: t('timeline_of', { local: hostport(sock.local), remote: hostport(sock.remote), cookie: d.cookie }) }))];
  if (d.closed_by) {
    head.push(h('p', { class: 'timeline-closer', text: t('timeline_closer', { comm: d.closed_by.comm, pid: d.closed_by.pid, how: t('how_' + d.closed_by.how) }) }));
  }
  if (!d.timeline || !d.timeline.length) {
    box.replaceChildren(...head, h('p', { class: 'empty', text: t('timeline_none') }));
    box.removeAttribute('aria-busy');
    return;
  }
  const segs = closeSegments(d.timeline);
  const t0 = d.timeline[0].at;
  const W = 640;
  const top = 36;
  const gap = 50;
  const H = top + gap * segs.length + 16;
  const L = 150;
  const R = 490;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'sequence real', role: 'img', 'aria-label': t('timeline_h') });
  const mk = svgEl('marker', { id: 'tl-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  mk.append(svgEl('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  const defs = svgEl('defs', {});
  defs.append(mk);
  svg.append(defs,
    svgEl('text', { x: L, y: 18, 'text-anchor': 'middle', class: 'seq-head' }, t('this_socket')),
    svgEl('text', { x: R, y: 18, 'text-anchor': 'middle', class: 'seq-head' }, t('peer_side')),
    svgEl('line', { x1: L, y1: 26, x2: L, y2: H - 6, class: 'seq-life' }),
    svgEl('line', { x1: R, y1: 26, x2: R, y2: H - 6, class: 'seq-life' }));
  segs.forEach((g, i) => {
    const y = top + gap * i;
    const [x1, x2] = g.outward ? [L, R] : [R, L];
    const plus = `+${((g.at - t0) * 1000).toFixed(3)} ms`;
    svg.append(svgEl('line', { x1, y1: y, x2, y2: y + gap - 16, class: 'seq-msg', 'marker-end': 'url(#tl-arrow)' }),
      svgEl('text', { x: (L + R) / 2, y: y + gap / 2 - 12, 'text-anchor': 'middle', class: 'seq-seg' }, g.seg),
      svgEl('text', { x: L - 8, y: y + gap - 14, 'text-anchor': 'end', class: 'seq-state' }, g.mine),
      svgEl('text', { x: L - 8, y: y + gap - 1, 'text-anchor': 'end', class: 'seq-time' }, plus),
      svgEl('text', { x: R + 8, y: y + gap - 14, 'text-anchor': 'start', class: 'seq-state' }, g.peer));
    if (g.pid) svg.append(svgEl('text', { x: g.outward ? L + 8 : R - 8, y: y - 5, 'text-anchor': g.outward ? 'start' : 'end', class: 'seq-proc' }, procName(g.pid, d)));
  });
  const table = h('div', { class: 'table-wrap', tabindex: 0 }, h('table', { class: 'data timeline-table' },
    h('thead', {}, h('tr', {}, ['#', t('col_at'), t('col_since'), t('col_segment'), t('col_this_state'), t('col_peer_state'), t('col_by')]
      .map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, segs.map((g, i) => h('tr', { 'data-seg': g.seg, 'data-dir': g.outward ? 'out' : 'in' },
      h('td', { class: 'num', text: String(i + 1) }),
      h('td', { class: 'num', text: clockMs(g.at) }),
      h('td', { class: 'num', text: `+${((g.at - t0) * 1000).toFixed(3)} ms` }),
      h('td', {}, h('code', { text: g.outward ? `${g.seg} →` : `← ${g.seg}` })),
      h('td', {}, h('span', { class: 'state-tag st-' + g.mine, text: g.mine })),
      h('td', { text: g.peer || '–' }),
      h('td', { class: g.pid ? 'proc' : 'muted', text: procName(g.pid, d) }))))));
  box.replaceChildren(...head, svg, table);
  box.removeAttribute('aria-busy');
  box.focus({ preventScroll: true });
}

/*
 * The newest TIME_WAIT whose close the tracer saw, a lab demo's first (the demos run as
 * "lingerd"; lingerd's own HTTP threads are "MHD-worker"), right after it ran.
 */
async function traceLatest(cmd, where) {
  try {
    const d = await getJSON(withNs('/api/v1/sockets?state=TIME_WAIT&limit=500'));
    const rank = (x) => (x.closed_by.comm === 'lingerd' ? 0 : 1e9) + x.age_s;
    const seen = d.sockets.filter((x) => x.closed_by && x.closed_by.how === 'active').sort((a, b) => rank(a) - rank(b));
    if (seen.length) {
      await traceSocket(seen[0]);
      return;
    }
    where.textContent = t('draw_real_none', { cmd });
  } catch (e) {
    where.textContent = t('error', { msg: e.message });
  }
}

/* "Try it": the lab demo that shows a state or option, and with the tracer a real close. */
function tryIt(cmds) {
  const msg = h('span', { class: 'muted', role: 'status' });
  return h('p', { class: 'try-it' }, h('strong', { text: t('try_it') + ': ' }),
    cmds.flatMap((c, i) => [i ? ', ' : null, h('code', { class: 'token', text: c })]),
    eventsOff() === '' ? [' ', h('button', { type: 'button', class: 'link', onclick: () => traceLatest(cmds[0], msg), text: t('draw_real') })] : null,
    ' ', msg);
}

/* ---- findings ---- */

async function loadFindings() {
  const current = ticket('findings');
  try {
    const d = await getJSON(withNs(`/api/v1/findings?min_age=${ui.minAge}&lang=${ui.lang}`));
    if (!current()) return;
    ui.findings = d;
    showPanelError('findings-section', null);
  } catch (e) {
    showPanelError('findings-section', e);
    return;
  }
  renderFindings();
  renderLeaks();
  renderCounts();
}

/* Numbers that are names (pids, uids, ports) are shown as they are, not as quantities. */
const RAW_NUMBER = /(^|_)(pid|uid|port)$/;

function kvValue(k, v, obj) {
  if (v == null || /_lower_bound$/.test(k)) return null; // shown as "≥" on its value
  if (typeof v === 'number' && /_s$/.test(k) && obj && obj[k.replace(/_s$/, '_lower_bound')]) return ageText(v, true);
  if (typeof v === 'object') {
    if ('low' in v && 'high' in v) return `${v.low}–${v.high}`;
    return Object.entries(v).map(([a, b]) => `${a}=${b}`).join(', ');
  }
  if (typeof v === 'number' && /_s$/.test(k)) return duration(ui.lang, v);
  if (typeof v === 'number' && RAW_NUMBER.test(k)) return String(v);
  if (typeof v === 'number') return fmtNum(Math.round(v * 100) / 100);
  return String(v);
}

/* Addresses and commands are tokens: each one in one piece, the line breaking between them. */
function tokens(txt) {
  const parts = txt.split(/(\s+->\s+|,\s+)/);
  return parts.map((x, i) => (i % 2 ? x : h('code', { class: 'token', text: x })));
}

/* A finding's subject or evidence as a two-column table under its caption. */
function kvTable(obj, caption) {
  const rows = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const txt = kvValue(k, v, obj);
    if (txt == null) continue;
    const label = has('k_' + k) ? t('k_' + k) : k.replace(/_/g, ' ');
    let td;
    if (k === 'cmdline') td = h('td', { class: 'clip', title: txt }, h('code', { text: txt }));
    else if (/example|remote|source|destination/.test(k)) td = h('td', {}, tokens(txt));
    else td = h('td', { text: txt });
    rows.push(h('tr', {}, h('th', { scope: 'row', text: label }), td));
  }
  return h('table', { class: 'kv' }, h('caption', { text: caption }), h('tbody', {}, rows));
}

function renderFindings() {
  const d = ui.findings;
  if (!d) return;
  const sum = $('#findings-summary');
  sum.replaceChildren(...['critical', 'warning', 'info'].map((s) =>
    h('span', { class: `badge sev-${s}${d.summary[s] ? '' : ' zero'}`, text: `${fmtNum(d.summary[s])} ${t('sev_' + s)}` })));
  const key = ui.lang + ui.stale + JSON.stringify(d.findings);
  if (ui.rendered.findings === key) return;
  ui.rendered.findings = key;
  const list = $('#findings');
  const more = $('#findings-more');
  if (!d.findings.length) {
    // Without current data an empty list proves nothing: no all-clear then.
    list.replaceChildren(h('li', { class: 'empty', text: ui.stale ? t('unknown_now') : t('findings_none', { t: duration(ui.lang, ui.minAge) }) }));
    more.hidden = true;
    return;
  }
  list.replaceChildren(...d.findings.map((f, i) => h('li', {
    class: `finding sev-${f.severity}`, 'data-id': f.id, hidden: !ui.findingsAll && i >= FINDINGS_SHOWN,
  },
    h('div', { class: 'finding-head' },
      h('span', { class: `badge sev-${f.severity}`, text: t('sev_' + f.severity) }),
      h('h3', { text: f.title })),
    h('div', { class: 'finding-body' }, kvTable(f.subject, t('subject')), kvTable(f.evidence, t('evidence'))),
    h('p', { class: 'remedy' }, h('strong', { text: t('remedy') + ': ' }), f.remedy),
    h('details', {}, h('summary', { text: t('why_more') }), h('p', { text: f.explanation })))));
  const hiddenCount = d.findings.length - FINDINGS_SHOWN;
  more.hidden = hiddenCount <= 0;
  more.textContent = ui.findingsAll ? t('show_fewer') : t('show_more', { n: hiddenCount });
  more.setAttribute('aria-expanded', String(ui.findingsAll));
}

/* ---- kernel settings and counters ---- */

async function loadSystem() {
  try {
    ui.system = await getJSON('/api/v1/system');
    showPanelError('system-section', null);
  } catch (e) {
    showPanelError('system-section', e);
    return;
  }
  renderSystem();
}

function renderSystem() {
  const d = ui.system;
  if (!d) return;
  const key = ui.lang + JSON.stringify([d.settings, d.counters, d.gauges]);
  if (ui.rendered.system === key) return;
  ui.rendered.system = key;
  const val = (v) => (v == null ? t('unavailable') : fmtNum(v));
  $('#settings tbody').replaceChildren(...d.settings.map((s) => h('tr', {},
    h('th', { scope: 'row' }, h('code', { text: s.name }), h('div', { class: 'muted small', text: s.sysctl.replace(/\//g, '.') })),
    h('td', { class: 'num', text: val(s.value) }),
    h('td', { text: kernelWhat(ui.lang, s.name, s.what) }))));
  const rate = (v) => (v == null ? '–' : fmtNum(v >= 100 ? Math.round(v) : Math.round(v * 10) / 10));
  $('#counters tbody').replaceChildren(...d.counters.map((c) => h('tr', { class: c.per_min > 0 && TROUBLE.test(c.name) ? 'active' : null },
    h('th', { scope: 'row' }, h('code', { text: c.name }), h('div', { class: 'muted small', text: c.source })),
    h('td', { class: 'num', text: val(c.value) }),
    h('td', { class: 'num' + (c.per_min > 0 ? ' strong' : ''), text: rate(c.per_min) }),
    h('td', { text: kernelWhat(ui.lang, c.name, c.what) }))));
  $('#gauges tbody').replaceChildren(...(d.gauges || []).map((g) => h('tr', {},
    h('th', { scope: 'row' }, h('code', { text: g.name }), h('div', { class: 'muted small', text: g.source })),
    h('td', { class: 'num', text: val(g.value) }),
    h('td', { text: kernelWhat(ui.lang, g.name, g.what) }))));
  $('#rate-window').textContent = d.rate_window_s ? t('rate_window', { t: duration(ui.lang, d.rate_window_s) }) : '';
}

/* ---- sockets table ---- */

function readFilterForm() {
  const f = {};
  const state = $('#f-state').value;
  const port = $('#f-port').value.trim();
  const proc = $('#f-process').value.trim();
  const minAge = $('#f-min-age').value.trim();
  if (state) f.state = state;
  if (port) f.port = port;
  if (proc) f.process = proc;
  if (minAge) f.min_age = minAge;
  return f;
}

function writeFilterForm(f) {
  $('#f-state').value = f.state || '';
  $('#f-port').value = f.port || '';
  $('#f-process').value = f.process || '';
  $('#f-min-age').value = f.min_age || '';
}

function socketsQuery() {
  const s = ui.sockets;
  const p = new URLSearchParams();
  const f = s.filter;
  if (f.state) p.set('state', f.state);
  if (f.port) p.set('port', f.port);
  if (f.min_age) p.set('min_age', f.min_age);
  if (f.process) {
    if (/^\d+$/.test(f.process)) p.set('pid', f.process);
    else p.set('comm', f.process);
  }
  p.set('limit', String(s.limit));
  if (ui.netns) p.set('netns', ui.netns);
  const cur = s.cursors[s.page];
  if (cur) p.set('cursor', cur);
  return p.toString();
}

async function loadSockets() {
  const s = ui.sockets;
  const err = $('#sockets-error');
  if (s.filter.process && !/^\d+$/.test(s.filter.process) && new TextEncoder().encode(s.filter.process).length > 16) {
    err.textContent = t('bad_process');
    err.hidden = false;
    return;
  }
  const current = ticket('sockets');
  try {
    const d = await getJSON('/api/v1/sockets?' + socketsQuery());
    if (!current()) return;
    s.data = d;
    err.hidden = true;
  } catch (e) {
    if (!current()) return;
    err.textContent = t('error', { msg: e.message });
    err.hidden = false;
    return;
  }
  renderSockets();
}

/* An age, "≥ 45 s" when the socket was already in its state when lingerd first saw it. */
function ageText(secs, lowerBound) {
  return (lowerBound ? '≥ ' : '') + duration(ui.lang, secs);
}

function hostport(a) {
  return (a.addr.includes(':') ? `[${a.addr}]` : a.addr) + ':' + a.port;
}

function renderSockets() {
  const s = ui.sockets;
  const d = s.data;
  if (!d) return;
  $('#p-info').textContent = t('page_of', { p: s.page + 1, n: fmtNum(d.matched), t: clock(d.taken_at) });
  $('#p-first').disabled = s.page === 0;
  $('#p-prev').disabled = s.page === 0;
  $('#p-next').disabled = !d.next;
  const key = ui.lang + eventsOff() + JSON.stringify(d.sockets);
  if (ui.rendered.sockets === key) return;
  ui.rendered.sockets = key;
  const body = $('#sockets tbody');
  if (!d.sockets.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 10, class: 'empty', text: t('sockets_none') })));
    return;
  }
  const tracer = eventsOff() === '';
  body.replaceChildren(...d.sockets.map((x) => {
    const timer = x.timer && x.timer.kind !== 'none'
      ? `${has('timer_' + x.timer.kind) ? t('timer_' + x.timer.kind) : x.timer.kind} ${duration(ui.lang, x.timer.expires_ms / 1000)}${x.timer.retrans ? ` ×${x.timer.retrans}` : ''}` : '–';
    return h('tr', { class: ui.lingering.has(x.state) ? 'lingering' : null },
      h('td', {}, h('span', { class: 'state-tag st-' + x.state, text: x.state })),
      h('td', {}, h('code', { class: 'token', text: hostport(x.local) })),
      h('td', {}, h('code', { class: 'token', text: hostport(x.remote) })),
      h('td', { title: x.cmdline || null }, x.comm ? [h('strong', { class: 'proc', text: x.comm }), ' ', h('span', { class: 'muted', text: String(x.pid) })]
        : x.closed_by ? [h('span', { class: 'muted', text: t('closed_by') + ' ' }), h('strong', { class: 'proc', text: x.closed_by.comm }), ' ', h('span', { class: 'muted', text: String(x.closed_by.pid) })] : '–'),
      h('td', { text: t('owner_' + x.owner) }),
      h('td', { class: 'num', title: clock(x.state_since), text: ageText(x.age_s, x.age_lower_bound) }),
      h('td', { class: 'num' + (x.rx_queue > 0 && ui.lingering.has(x.state) ? ' warn-text' : ''), text: fmtNum(x.rx_queue) }),
      h('td', { class: 'num', text: fmtNum(x.tx_queue) }),
      h('td', { text: timer }),
      h('td', {}, tracer && TRACEABLE.has(x.state) ? h('button', { type: 'button', class: 'link trace', 'data-cookie': x.cookie,
        'aria-label': t('trace_of', { sock: `${hostport(x.local)} → ${hostport(x.remote)}` }), onclick: () => traceSocket(x), text: t('trace') }) : null));
  }));
}

function showSocketsOf(filter) {
  ui.sockets.filter = { ...filter };
  ui.sockets.page = 0;
  ui.sockets.cursors = [null];
  writeFilterForm(ui.sockets.filter);
  $('#sockets-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
  loadSockets();
}

/* ---- network namespaces ---- */

async function loadNetns() {
  try {
    ui.netnsList = await getJSON('/api/v1/netns');
  } catch (e) {
    ui.netnsList = null; // the selector keeps what it had; the panels report their own errors
  }
  renderNetns();
}

/*
 * The selector shows once lingerd follows another namespace (lingerd --netns all), or while one
 * is chosen: a namespace that is gone stays in the list, its history still served by trends.
 */
function renderNetns() {
  const d = ui.netnsList;
  const others = d ? d.namespaces.filter((n) => n.kind !== 'self') : [];
  const names = new Set(others.map((n) => n.name));
  const sel = $('#netns');
  const key = [ui.lang, ui.netns, JSON.stringify(others.map((n) => [n.name, n.kind, n.comm]))].join('|');
  if (ui.rendered.netns !== key) {
    ui.rendered.netns = key;
    const opts = [h('option', { value: '', text: t('netns_self') })];
    for (const n of others) {
      opts.push(h('option', { value: n.name, text: n.kind === 'process' && n.comm ? `${n.name} · ${n.comm}` : n.name }));
    }
    if (ui.netns && !names.has(ui.netns)) opts.push(h('option', { value: ui.netns, text: t('netns_gone', { name: ui.netns }) }));
    sel.replaceChildren(...opts);
    sel.value = ui.netns;
  }
  const show = others.length > 0 || Boolean(ui.netns);
  $('#netns-wrap').hidden = !show;
  sel.disabled = !show;
}

function setNetns(name) {
  ui.netns = name;
  ui.snapshot = null;
  ui.deltas = null;
  ui.trends = null;
  ui.offenders = null;
  ui.findings = null;
  ui.leaks = null;
  ui.samples = {};
  ui.sockets.page = 0;
  ui.sockets.cursors = [null];
  ui.sockets.data = null;
  ui.rendered = {};
  showSplitState();
  saveHash();
  renderNetns();
  renderCounts();
  return Promise.allSettled([loadSnapshot(), loadLeaks(), loadDeltas(), loadTrends(), loadOffenders(), loadFindings(),
    ui.socketsVisible ? loadSockets() : null]);
}

/* ---- polling ---- */

const jobs = [
  // [name, loader, period in seconds as a function of the interval]
  { name: 'status', run: loadStatus, every: (iv) => iv },
  { name: 'netns', run: loadNetns, every: (iv) => Math.max(iv, 10) },
  { name: 'snapshot', run: loadSnapshot, every: (iv) => iv },
  { name: 'leaks', run: loadLeaks, every: (iv) => iv },
  { name: 'trends', run: loadTrends, every: (iv) => (RANGES[ui.range] <= 3600 ? iv : Math.max(iv, 60)) },
  { name: 'deltas', run: loadDeltas, every: (iv) => Math.max(iv, 15) },
  { name: 'offenders', run: loadOffenders, every: (iv) => Math.max(iv, 5) },
  { name: 'findings', run: loadFindings, every: (iv) => Math.max(iv, 5) },
  { name: 'events', run: loadEvents, every: (iv) => Math.max(iv, 5) },
  // Only the first page follows the live data, only while the table is on screen, and not
  // while the filters are being edited.
  { name: 'sockets', run: () => (ui.socketsVisible && ui.sockets.page === 0 && !$('#sockets-filter').contains(document.activeElement) ? loadSockets() : null), every: (iv) => Math.max(iv, 5) },
  { name: 'system', run: loadSystem, every: (iv) => Math.max(iv, 30) },
];
const lastRun = {};
let pollTimer = null;
let polling = false;

async function poll(force = false) {
  if (polling) return;
  polling = true;
  const now = Date.now() / 1000;
  const due = jobs.filter((j) => force || !lastRun[j.name] || now - lastRun[j.name] >= j.every(ui.interval) - 0.05);
  for (const j of due) lastRun[j.name] = now;
  await Promise.allSettled(due.map((j) => j.run()));
  polling = false;
  schedule();
}

function schedule() {
  clearTimeout(pollTimer);
  if (!ui.live || document.hidden) return;
  pollTimer = setTimeout(poll, Math.min(60, Math.max(0.5, ui.interval)) * 1000);
}

function renderAll() {
  renderStatus();
  renderLeaks();
  renderNetns();
  renderCounts();
  renderTrends();
  renderOffenders();
  renderEvents();
  renderFindings();
  renderSystem();
  renderSockets();
  if (ui.selected) {
    const d = ui.stateDetail[`${ui.lang}/${ui.selected}`];
    if (d) renderExplanation(d);
  }
}

const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

/* ---- wiring ---- */

function wire() {
  $('#lang').addEventListener('change', (e) => setLang(e.target.value));
  $('#netns').addEventListener('change', (e) => setNetns(e.target.value));
  $('#live').addEventListener('change', (e) => {
    ui.live = e.target.checked;
    if (ui.live) poll(true);
    else clearTimeout(pollTimer);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && ui.live) poll();
  });
  for (const b of $$('#ranges button')) {
    b.addEventListener('click', () => {
      ui.range = b.dataset.range;
      ui.rangeChosen = true;
      markRange();
      saveHash();
      loadTrends();
    });
  }
  $('#split').addEventListener('change', (e) => {
    ui.split = e.target.value;
    showSplitState();
    saveHash();
    loadTrends();
  });
  $('#log-scale').addEventListener('change', (e) => {
    ui.logScale = e.target.checked;
    renderTrends();
  });
  $('#findings-more').addEventListener('click', () => {
    ui.findingsAll = !ui.findingsAll;
    ui.rendered.findings = '';
    renderFindings();
  });
  $('#split-state').addEventListener('change', (e) => {
    ui.splitState = e.target.value;
    saveHash();
    loadTrends();
  });
  for (const b of $$('#offender-by button')) {
    b.addEventListener('click', () => {
      ui.offBy = b.dataset.by;
      ui.rendered.offenders = '';
      renderOffenders();
      saveHash();
      loadOffenders();
    });
  }
  $('#findings-min-age').addEventListener('change', (e) => {
    const v = Number(e.target.value);
    if (!(v >= 0)) return;
    ui.minAge = v;
    saveHash();
    loadFindings();
  });
  $('#sockets-filter').addEventListener('submit', (e) => {
    e.preventDefault(); // the page's CSP allows no form submission: filters are applied here
    ui.sockets.filter = readFilterForm();
    ui.sockets.limit = Number($('#f-limit').value) || 50;
    ui.sockets.page = 0;
    ui.sockets.cursors = [null];
    loadSockets();
  });
  $('#f-reset').addEventListener('click', () => {
    writeFilterForm({});
    ui.sockets.filter = {};
    ui.sockets.page = 0;
    ui.sockets.cursors = [null];
    loadSockets();
  });
  $('#f-refresh').addEventListener('click', () => loadSockets());
  $('#p-first').addEventListener('click', () => {
    ui.sockets.page = 0;
    loadSockets();
  });
  $('#p-prev').addEventListener('click', () => {
    if (ui.sockets.page > 0) ui.sockets.page--;
    loadSockets();
  });
  $('#p-next').addEventListener('click', () => {
    const d = ui.sockets.data;
    if (!d || !d.next) return;
    ui.sockets.cursors[ui.sockets.page + 1] = d.next;
    ui.sockets.page++;
    loadSockets();
  });
  // The sockets table is fetched once it scrolls into view, and followed only while it is there.
  new IntersectionObserver((entries) => {
    const vis = entries.some((e) => e.isIntersecting);
    if (vis && !ui.socketsVisible && !ui.sockets.data) loadSockets();
    ui.socketsVisible = vis;
  }, { rootMargin: '200px' }).observe($('#sockets-section'));
  new ResizeObserver(() => {
    if (chart) chart.setSize({ width: Math.max(240, $('#chart').clientWidth), height: 300 });
  }).observe($('#chart'));
  darkQuery.addEventListener('change', () => {
    chartKey = '';
    renderTrends();
  });
}

function showSplitState() {
  const split = $('#split');
  split.disabled = Boolean(ui.netns);
  split.title = ui.netns ? t('netns_no_split') : '';
  $('#split-state').disabled = !splitOn();
  $('#split-state-label').hidden = !splitOn();
}

function markRange() {
  for (const b of $$('#ranges button')) b.setAttribute('aria-pressed', String(b.dataset.range === ui.range));
}

async function main() {
  const hs = readHash();
  let lang = hs.lang;
  if (!lang) {
    try { lang = localStorage.getItem('lingerd.lang'); } catch (e) { lang = null; }
  }
  // A namespace name is the kernel's or a runtime's: it only ever reaches the page as text.
  if (hs.netns && hs.netns.length <= 256 && !/[\u0000-\u001f\u007f]/.test(hs.netns)) ui.netns = hs.netns;
  if (hs.range && RANGES[hs.range]) {
    ui.range = hs.range;
    ui.rangeChosen = true;
  }
  if (hs.split === 'process' || hs.split === 'local_port') ui.split = hs.split;
  if (hs.state && ALL_STATES.includes(hs.state)) ui.splitState = hs.state;
  if (hs.min_age && Number(hs.min_age) >= 0) ui.minAge = Number(hs.min_age);
  if (hs.by && ['process', 'local_port', 'remote', 'remote_port'].includes(hs.by)) ui.offBy = hs.by;
  $('#split').value = ui.split;
  $('#findings-min-age').value = String(ui.minAge);
  markRange();
  for (const b of $$('#offender-by button')) b.setAttribute('aria-pressed', String(b.dataset.by === ui.offBy));
  diagram = buildDiagram($('#diagram'), (state) => showExplanation(state), t);
  wire();
  await setLang(lang || defaultLang(navigator), { initial: true });
  renderCounts();
  renderNetns();
  // CLOSE_WAIT is what lingerd exists for: its explanation is open until another state is picked.
  showExplanation(hs.select && ALL_STATES.includes(hs.select) ? hs.select : 'CLOSE_WAIT', { focus: false });
  if (!ui.rangeChosen) {
    // The default range fits the history there is: minutes of it are not squeezed into an hour.
    await loadDeltas();
    if (ui.historyStart != null && Date.now() / 1000 - ui.historyStart < RANGES['15m']) ui.range = '15m';
    markRange();
  }
  await poll(true);
  document.body.dataset.ready = '1';
}

main();
