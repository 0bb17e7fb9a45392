// diagram.js - the TCP state machine as an SVG: both sides of the open and of the close, with live
// counts in the nodes. Built with DOM calls only (no markup strings), so no text is ever parsed.

const SVG = 'http://www.w3.org/2000/svg';
const W = 900;
const H = 610;
const NW = 144; // node box
const NH = 52;

/* Three columns: the client / active closer on the left, the server / passive closer on the right. */
const NODES = {
  CLOSED: [450, 46],
  SYN_SENT: [170, 150],
  LISTEN: [730, 150],
  SYN_RECV: [730, 252],
  ESTABLISHED: [450, 300],
  FIN_WAIT_1: [170, 412],
  CLOSING: [450, 412],
  CLOSE_WAIT: [730, 412],
  FIN_WAIT_2: [170, 530],
  TIME_WAIT: [450, 530],
  LAST_ACK: [730, 530],
};

/* Edges: from, to, label (event / segment sent), optional path and label position. */
const EDGES = [
  { a: 'CLOSED', b: 'SYN_SENT', label: 'connect() / SYN', lx: 262, ly: 88 },
  { a: 'CLOSED', b: 'LISTEN', label: 'listen()', lx: 626, ly: 88 },
  { a: 'LISTEN', b: 'SYN_RECV', label: 'SYN / SYN+ACK', lx: 742, ly: 203, anchor: 'start' },
  { a: 'SYN_SENT', b: 'SYN_RECV', label: 'SYN / SYN+ACK', note: 'simultaneous', lx: 470, ly: 186, minor: true },
  { a: 'SYN_SENT', b: 'ESTABLISHED', label: 'SYN+ACK / ACK', lx: 262, ly: 250 },
  { a: 'SYN_RECV', b: 'ESTABLISHED', label: 'ACK', lx: 620, ly: 292 },
  { a: 'ESTABLISHED', b: 'FIN_WAIT_1', label: 'close() / FIN', lx: 262, ly: 345 },
  { a: 'ESTABLISHED', b: 'CLOSE_WAIT', label: 'FIN / ACK', lx: 640, ly: 345 },
  { a: 'FIN_WAIT_1', b: 'FIN_WAIT_2', label: 'ACK', lx: 182, ly: 476, anchor: 'start' },
  { a: 'FIN_WAIT_1', b: 'CLOSING', label: 'FIN / ACK', lx: 310, ly: 404 },
  { a: 'FIN_WAIT_1', b: 'TIME_WAIT', label: 'FIN+ACK / ACK', lx: 334, ly: 468, anchor: 'start' },
  { a: 'CLOSING', b: 'TIME_WAIT', label: 'ACK', lx: 462, ly: 476, anchor: 'start' },
  { a: 'FIN_WAIT_2', b: 'TIME_WAIT', label: 'FIN / ACK', lx: 310, ly: 522 },
  { a: 'CLOSE_WAIT', b: 'LAST_ACK', label: 'close() / FIN', lx: 742, ly: 476, anchor: 'start' },
  // The way back to CLOSED runs around the outside.
  { a: 'LAST_ACK', b: 'CLOSED', label: 'ACK', lx: 876, ly: 300, anchor: 'end',
    d: 'M 798 530 H 870 V 14 H 480 V 20' },
  { a: 'TIME_WAIT', b: 'CLOSED', label: '2MSL (60 s)', lx: 30, ly: 300, anchor: 'start',
    d: 'M 450 554 V 592 H 24 V 14 H 420 V 20' },
];

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

/* Where the straight line from a's centre to b's centre leaves a's box. */
function boxExit([cx, cy], [tx, ty], pad) {
  const dx = tx - cx;
  const dy = ty - cy;
  const hw = NW / 2 + pad;
  const hh = NH / 2 + pad;
  const s = Math.min(dx ? hw / Math.abs(dx) : Infinity, dy ? hh / Math.abs(dy) : Infinity);
  return [cx + dx * s, cy + dy * s];
}

/*
 * Draws the diagram into container. onSelect(state) is called on click, Enter or Space.
 * Returns { setCounts(counts, problems), select(state), setLabels(t) }; problems maps a state that
 * is a problem now to its worst severity, and only those are highlighted.
 */
export function buildDiagram(container, onSelect, t) {
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'machine-svg',
    role: 'group',
    'aria-labelledby': 'machine-title',
  });
  const title = el('title', { id: 'machine-title' }, svg);
  const defs = el('defs', {}, svg);
  const marker = el('marker', {
    id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: 'auto-start-reverse',
  }, defs);
  el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }, marker);

  // Lanes: who does what.
  const lanes = el('g', { class: 'lanes', 'aria-hidden': 'true' }, svg);
  el('line', { x1: 450, y1: 96, x2: 450, y2: 262, class: 'lane-sep' }, lanes);
  el('line', { x1: 24, y1: 362, x2: 876, y2: 362, class: 'lane-sep' }, lanes);
  const laneText = {};
  for (const [key, x, y, anchor] of [
    ['lane_client', 60, 124, 'start'], ['lane_server', 840, 124, 'end'],
    ['lane_active_close', 60, 384, 'start'], ['lane_passive_close', 840, 384, 'end'],
  ]) {
    laneText[key] = el('text', { x, y, class: 'lane-label', 'text-anchor': anchor }, lanes);
  }
  const note = el('text', { x: 450, y: 606, class: 'lane-label', 'text-anchor': 'middle' }, lanes);

  const edges = el('g', { class: 'edges', 'aria-hidden': 'true' }, svg);
  const notes = []; // edge labels with a translated remark: [element, label, key]
  for (const e of EDGES) {
    let d = e.d;
    if (!d) {
      const [x1, y1] = boxExit(NODES[e.a], NODES[e.b], 2);
      const [x2, y2] = boxExit(NODES[e.b], NODES[e.a], 4);
      d = `M ${x1.toFixed(1)} ${y1.toFixed(1)} L ${x2.toFixed(1)} ${y2.toFixed(1)}`;
    }
    el('path', { d, class: e.minor ? 'edge minor' : 'edge', 'marker-end': 'url(#arrow)' }, edges);
    const lab = el('text', {
      x: e.lx, y: e.ly, class: 'edge-label', 'text-anchor': e.anchor || 'middle',
    }, edges);
    lab.textContent = e.label;
    if (e.note) notes.push([lab, e.label, e.note]);
  }

  const nodes = {};
  const g = el('g', { class: 'nodes' }, svg);
  for (const [state, [cx, cy]] of Object.entries(NODES)) {
    const n = el('g', {
      class: 'node', tabindex: 0, role: 'button', 'data-state': state,
      transform: `translate(${cx - NW / 2} ${cy - NH / 2})`,
    }, g);
    el('rect', { width: NW, height: NH, rx: 8, ry: 8 }, n);
    const name = el('text', { x: NW / 2, y: 21, class: 'node-name', 'text-anchor': 'middle' }, n);
    name.textContent = state;
    const count = el('text', { x: NW / 2, y: 43, class: 'node-count', 'text-anchor': 'middle' }, n);
    count.textContent = '–';
    n.addEventListener('click', () => onSelect(state));
    n.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        onSelect(state);
      }
    });
    nodes[state] = { g: n, count, n: null };
  }
  container.replaceChildren(svg);

  let tr = t;
  let selected = null;
  const api = {
    setLabels(t2) {
      tr = t2;
      title.textContent = tr('machine_h');
      for (const [k, e] of Object.entries(laneText)) e.textContent = tr(k);
      note.textContent = tr('machine_any_closed');
      for (const [lab, label, key] of notes) lab.textContent = `${label} (${tr(key)})`;
      for (const [state, x] of Object.entries(nodes)) {
        x.g.setAttribute('aria-label', tr('node_label', { state, n: x.count.textContent }));
      }
    },
    setCounts(counts, problems) {
      for (const [state, x] of Object.entries(nodes)) {
        const n = counts ? counts[state] : null;
        x.n = n == null ? null : n;
        x.count.textContent = n == null ? '–' : n.toLocaleString();
        const sev = n > 0 ? problems[state] : null;
        x.g.setAttribute('class', 'node' + (sev ? ` problem sev-${sev}` : '') + (n ? '' : ' empty') + (state === selected ? ' selected' : ''));
        x.g.setAttribute('aria-label', tr('node_label', { state, n: x.count.textContent }));
      }
    },
    select(state) {
      if (selected) nodes[selected].g.classList.remove('selected');
      selected = state in nodes ? state : null;
      for (const [s, x] of Object.entries(nodes)) x.g.setAttribute('aria-pressed', String(s === selected));
      if (selected) nodes[selected].g.classList.add('selected');
    },
  };
  api.setLabels(t);
  return api;
}
