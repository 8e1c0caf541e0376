// DOM building (createElement and text nodes only: data is never parsed as markup),
// formatting, forms that send one Idempotency-Key per action, lists paged by the API's cursors.

import { newKey, Problem } from './api.js';

/** An element; strings among the children become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

// ---- numbers, money and times -------------------------------------------------------------

/** A decimal string with thousands separators, exactly (no floating point). */
export function dec(v) {
  if (v === null || v === undefined || v === '') return '—';
  const str = String(v);
  const neg = str.startsWith('-');
  const [int, frac] = (neg ? str.slice(1) : str).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '−' : '') + grouped + (frac ? '.' + frac : '');
}
export const qty = (v, unit) => (v === null || v === undefined ? '—' : `${dec(v)} ${unit ?? ''}`.trim());
export const usd = (v) => (v === null || v === undefined ? '—' : `${dec(v)} USD`);
export const pct = (share) => `${dec(roundTo(share, 2, 1))} %`;

/** A decimal string as [BigInt digits, scale]. */
function parse(v) {
  const str = String(v);
  const [int, frac = ''] = str.split('.');
  return [BigInt(int + frac), frac.length];
}
function render(digits, scale) {
  const neg = digits < 0n;
  let t = (neg ? -digits : digits).toString().padStart(scale + 1, '0');
  if (scale > 0) t = t.slice(0, -scale) + '.' + t.slice(-scale);
  return (neg ? '-' : '') + t;
}
/** a × b rounded half up to `places` decimals, exact. */
export function mul(a, b, places = 2) {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const [da, sa] = parse(a);
  const [db, sb] = parse(b);
  return roundDigits(da * db, sa + sb, places);
}
/** A share (e.g. "0.5773") × 10^shift, to `places` decimals. */
function roundTo(v, shift, places) {
  const [d, sc] = parse(v);
  return roundDigits(d * 10n ** BigInt(shift), sc, places);
}
function roundDigits(d, scale, places) {
  if (scale <= places) return render(d * 10n ** BigInt(places - scale), places);
  const f = 10n ** BigInt(scale - places);
  const half = f / 2n;
  const q = d >= 0n ? (d + half) / f : -((-d + half) / f);
  return render(q, places);
}
/** A number for charts (display geometry only). */
export const num = (v) => (v === null || v === undefined ? 0 : Number(v));

/** "2026-12-04 20:27:16 UTC" from an RFC 3339 UTC time. */
export function time(v) {
  if (!v) return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
}
export const date = (v) => (v ? String(v) : '—');

/** snake_case → words. */
export const words = (k) => String(k).replace(/_/g, ' ');

// ---- states and refusals ------------------------------------------------------------------

export const loading = (what = 'Loading…') => h('p', { class: 'loading', role: 'status' }, what);
export const empty = (what) => h('p', { class: 'empty' }, what);

/** A refusal: the problem's title, detail, field errors and the rule's figures in words. */
export function problemBox(err) {
  if (!(err instanceof Problem)) {
    return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, 'The service could not be reached'), h('p', {}, String(err.message || err)));
  }
  const d = err.doc;
  const box = h('div', { class: 'problem', role: 'alert' },
    h('strong', {}, d.title || 'Refused'),
    h('p', {}, d.detail || ''),
    h('p', { class: 'code' }, `HTTP ${err.status}`, d.code ? ` · ${d.code}` : '', d.request_id ? ` · request ${d.request_id}` : ''));
  if (d.rule && typeof d.rule === 'object') {
    const figures = Object.entries(d.rule).map(([k, v]) => `${words(k)} ${typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? dec(v) : String(v)}`);
    box.append(h('p', { class: 'rule' }, 'The rule’s figures: ', figures.join('; '), '.'));
  }
  if (Array.isArray(d.errors) && d.errors.length) {
    box.append(h('ul', {}, d.errors.map((e) => h('li', {}, `${e.field}: ${e.message}`))));
  }
  return box;
}

/** A status line that screen readers announce. */
export function notice() {
  const el = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  el.show = (...content) => { el.replaceChildren(...content); };
  return el;
}
/** The console's one status line, above the page: it outlives a page's redraw after an action. */
export const flash = notice();

// ---- forms --------------------------------------------------------------------------------

let uid = 0;
/**
 * A form of labelled fields. `run(values, key)` performs the action; the Idempotency-Key is
 * made on the first attempt and kept until the service answers, so a double click or a retry
 * after a lost answer applies once; the button is disabled while the call is in flight.
 * field: {name, label, type?, required?, options?: [[value, text]], value?, hint?, attrs?}
 */
export function form({ fields, submit, run, title, className, inline }) {
  let key = null;
  let busy = false;
  const out = h('div', { class: 'form-out', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, submit);
  const controls = fields.map((f) => {
    const id = `f${++uid}`;
    let input;
    if (f.options) {
      input = h('select', { id, name: f.name, required: f.required }, f.options.map(([v, t]) => h('option', { value: v, selected: v === f.value }, t)));
    } else if (f.type === 'textarea') {
      input = h('textarea', { id, name: f.name, required: f.required, rows: 3 }, f.value ?? '');
    } else {
      input = h('input', { id, name: f.name, type: f.type || 'text', required: f.required, value: f.value, autocomplete: 'off', ...(f.attrs || {}) });
    }
    const hintId = f.hint ? `${id}-hint` : null;
    if (hintId) input.setAttribute('aria-describedby', hintId);
    return h('div', { class: 'field' }, h('label', { for: id }, f.label, f.required ? '' : ' (optional)'), input, f.hint ? h('small', { id: hintId }, f.hint) : null);
  });
  const el = h('form', { class: `form ${inline ? 'inline' : ''} ${className || ''}`, novalidate: false }, title ? h('h2', {}, title) : null, controls, h('div', { class: 'field' }, button), out);
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    out.replaceChildren(loading('Sending…'));
    const values = {};
    for (const f of fields) {
      const v = el.elements[f.name].value.trim();
      if (v !== '') values[f.name] = v;
    }
    key ??= newKey();
    try {
      const done = await run(values, key);
      key = null;
      out.replaceChildren(done instanceof Node ? done : h('p', { class: 'ok' }, done || 'Done.'));
    } catch (e) {
      if (e instanceof Problem) key = null; // the service answered: a changed form is a new action
      out.replaceChildren(problemBox(e));
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
  return el;
}

/** One button that performs one action (its own Idempotency-Key, as a form does). */
export function actionButton(label, run) {
  return form({ fields: [], submit: label, run, className: 'action', inline: true });
}

// ---- tables and paging --------------------------------------------------------------------

/**
 * A table filled page by page: `next(cursor)` returns {items, next}; "More" asks for the
 * next page with the API's cursor. `columns`: [[header, item => cell]]; `sort`: keeps the
 * rows loaded so far in an order (e.g. overdue first).
 */
export function pagedTable({ caption, columns, next, emptyText, sort, rowClass }) {
  const items = [];
  let cursor;
  const tbody = h('tbody');
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'More');
  const table = h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', { scope: 'col' }, t)))), tbody);
  const wrap = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption }, table);
  const box = h('div', { class: 'paged' }, wrap, status, more);
  const draw = () => {
    const rows = sort ? [...items].sort(sort) : items;
    tbody.replaceChildren(...rows.map((it) => h('tr', { class: rowClass ? rowClass(it) : null }, columns.map(([t, cell]) => h('td', { 'data-label': t }, cell(it))))));
  };
  const load = async () => {
    more.hidden = true;
    status.replaceChildren(loading());
    try {
      const page = await next(cursor);
      items.push(...page.items);
      cursor = page.next;
      draw();
      status.replaceChildren(items.length ? '' : empty(emptyText));
      more.hidden = !cursor;
    } catch (e) {
      status.replaceChildren(problemBox(e));
    }
  };
  more.addEventListener('click', load);
  box.ready = load();
  return box;
}

/** A plain table of known rows. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([t, cell]) => h('td', { 'data-label': t }, cell(r))))))));
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || text}` }, words(text));
}

/** Label/value pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
