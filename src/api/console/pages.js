// The console's pages. Each returns a node and loads its data between performance marks
// (`timed`); actions appear only where the caller's role may take them (`may`, from the
// service's OpenAPI document); the API decides in the end.

import { call, get, may, documented, session, timed, withQuery } from './api.js';
import {
  h, s, dec, qty, usd, pct, mul, num, time, date, words, loading, empty, problemBox, flash,
  form, actionButton, pagedTable, table, badge, facts,
} from './ui.js';

const PAGE = 25;

// ---- lookups shared by the pages (one request per object per visit) ------------------------

const cache = new Map();
function once(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}
export function forget() { cache.clear(); }
const material = (code) => once(`m:${code}`, () => get(`/v1/materials/${encodeURIComponent(code)}`));
const manufacturer = (id) => once(`mf:${id}`, () => get(`/v1/manufacturers/${encodeURIComponent(id)}`));
const allocations = (id) => once(`al:${id}`, () => get(`/v1/manufacturers/${encodeURIComponent(id)}/allocations?limit=1000`));
const facilities = () => once('facilities', () => get('/v1/facilities?limit=1000'));

/** Completes each item with what its row shows from other objects. */
async function withLookups(items, { mfr = false, alloc = false } = {}) {
  return Promise.all(items.map(async (it) => {
    const [m, mf, al] = await Promise.all([
      material(it.material),
      mfr ? manufacturer(it.manufacturer_id) : null,
      alloc ? allocations(it.manufacturer_id) : null,
    ]);
    return { ...it, unit: m.unit, mfr: mf, allocation: al?.items.find((a) => a.material === it.material) };
  }));
}

const section = (title, ...content) => h('section', { 'aria-labelledby': slug(title) }, h('h2', { id: slug(title) }, title), ...content);
const slug = (t) => 's-' + t.toLowerCase().replace(/[^a-z0-9]+/g, '-');
const mfrName = (it) => (it.mfr ? h('span', {}, it.mfr.name, h('br'), h('small', {}, `tier: ${it.mfr.priority_tier}`)) : it.manufacturer_id);

// ---- sign-in --------------------------------------------------------------------------------

export function signIn({ go }) {
  const f = form({
    title: 'Sign in',
    fields: [{ name: 'token', label: 'Access token', type: 'textarea', required: true, hint: 'Paste a bearer token. In development: stockpile token --role operator --sub alice' }],
    submit: 'Sign in',
    run: async ({ token }) => {
      if (!token) throw new Error('paste a token first');
      session.signIn(token);
      try {
        await get('/v1/materials?limit=1');
      } catch (e) {
        session.signOut();
        throw e;
      }
      go();
      return 'Signed in.';
    },
  });
  return h('div', { class: 'signin' }, h('h1', {}, 'Stockpile console'),
    h('p', {}, 'The console is a client of the service’s API: the token stays in this tab (sessionStorage) and is sent only in the Authorization header.'), f);
}

// ---- overview ---------------------------------------------------------------------------------

export function overview() {
  const body = h('div', {}, loading());
  const page = h('div', {}, h('h1', {}, 'Materials'), body);
  page.ready = timed('overview', async () => {
    const staff = may('GET', '/v1/reports/cover');
    const [mats, cover, conc] = await Promise.all([
      get(`/v1/materials?limit=100`),
      staff ? get('/v1/reports/cover') : null,
      staff ? get('/v1/reports/concentration') : null,
    ]);
    return { mats, cover, conc };
  }).then(({ mats, cover, conc }) => {
    const coverOf = new Map((cover?.materials || []).map((c) => [c.material, c]));
    const rows = mats.items;
    if (!rows.length) { body.replaceChildren(empty('No materials yet.')); return; }
    const cols = [
      ['Material', (m) => h('span', {}, h('strong', {}, m.code), h('br'), m.name)],
      ['On hand', (m) => qty(m.on_hand, m.unit)],
      ['Held', (m) => qty(m.held, m.unit)],
      ['Available', (m) => qty(m.available, m.unit)],
      ['Releasable', (m) => qty(m.releasable, m.unit)],
      ['Floor', (m) => qty(m.strategic_floor, m.unit)],
    ];
    if (cover) cols.push(['Days of cover', (m) => { const c = coverOf.get(m.code); return c?.days_of_cover ? `${dec(c.days_of_cover)} days` : '—'; }]);
    cols.push(['Market value', (m) => (m.market_price_usd ? usd(mul(m.on_hand, m.market_price_usd)) : 'no price')]);
    const parts = [table('Materials: stock, holds and value', cols, rows)];
    if (mats.next) parts.push(h('p', { class: 'empty' }, 'The first 100 materials are shown.'));
    parts.push(section('Stock against floor', stockChart(rows)));
    if (conc) parts.push(section('Origin shares', originChart(conc.materials)));
    body.replaceChildren(...parts);
  }).catch((e) => body.replaceChildren(problemBox(e)));
  return page;
}

const PALETTE = ['#1f5f8b', '#c0504d', '#4f7f3a', '#8064a2', '#d08b1c', '#2e8c8c', '#7f7f7f'];

/** One bar per material: on hand against a scale of max(on hand, 2 × floor), floor marked. */
function stockChart(mats) {
  const W = 640, row = 34, left = 120, barW = W - left - 10;
  const svg = s('svg', { viewBox: `0 0 ${W} ${mats.length * row + 20}`, role: 'img', 'aria-labelledby': 'stock-chart-title', class: 'chart' },
    s('title', { id: 'stock-chart-title' }, 'On hand against the strategic floor, per material'));
  mats.forEach((m, i) => {
    const y = i * row + 10;
    const scale = Math.max(num(m.on_hand), 2 * num(m.strategic_floor), 1);
    const w = (num(m.on_hand) / scale) * barW;
    const fx = left + (num(m.strategic_floor) / scale) * barW;
    const below = num(m.on_hand) < num(m.strategic_floor);
    svg.append(
      s('text', { x: 0, y: y + 16, class: 'label' }, m.code),
      s('rect', { x: left, y, width: barW, height: 22, class: 'track' }),
      s('rect', { x: left, y, width: Math.max(w, 1), height: 22, class: below ? 'bar below' : 'bar' },
        s('title', {}, `${m.code}: ${qty(m.on_hand, m.unit)} on hand, floor ${qty(m.strategic_floor, m.unit)}`)),
      s('line', { x1: fx, x2: fx, y1: y - 3, y2: y + 25, class: 'floor' }),
      s('text', { x: left + 6, y: y + 16, class: 'value' }, `${qty(m.on_hand, m.unit)} (floor ${dec(m.strategic_floor)})`),
    );
  });
  return h('figure', {}, svg, h('figcaption', {}, 'Bars: stock on hand; the dark line: the strategic floor. Each bar has its own scale (its unit).'));
}

/** One 100 % bar per material, a segment per origin country. */
function originChart(rows) {
  const W = 640, row = 34, left = 120, barW = W - left - 10;
  const svg = s('svg', { viewBox: `0 0 ${W} ${rows.length * row + 20}`, role: 'img', 'aria-labelledby': 'origin-chart-title', class: 'chart' },
    s('title', { id: 'origin-chart-title' }, 'Share of stock on hand by origin country, per material'));
  rows.forEach((r, i) => {
    const y = i * row + 10;
    let x = left;
    svg.append(s('text', { x: 0, y: y + 16, class: 'label' }, r.material));
    r.by_origin.forEach((o, j) => {
      const w = num(o.share) * barW;
      svg.append(s('rect', { x, y, width: Math.max(w, 0.5), height: 22, fill: PALETTE[j % PALETTE.length] },
        s('title', {}, `${r.material} from ${o.country}: ${pct(o.share)}`)));
      if (w > 60) svg.append(s('text', { x: x + 4, y: y + 16, class: 'seg' }, `${o.country} ${pct(o.share)}`));
      x += w;
    });
  });
  const alerts = rows.filter((r) => r.alert).map((r) => `${r.material} (${r.leading_country} ${pct(r.leading_share)})`);
  return h('figure', {}, svg, h('figcaption', {}, alerts.length ? `Concentration alert: ${alerts.join(', ')}.` : 'No concentration alert.'));
}

// ---- approvals --------------------------------------------------------------------------------

/** The rule figures a drawdown was checked with, in words. */
function policyWords(p, unit) {
  if (!p) return '—';
  const bits = [];
  if (p.severity) bits.push(`${p.severity} disruption: share ${dec(p.share)} of the allocation`);
  if (p.allocation_limit) bits.push(`limit ${qty(p.allocation_limit, unit)}`);
  if (p.disruption_cap) bits.push(`disruption cap ${qty(p.disruption_cap, unit)}`);
  if (p.strategic_floor) bits.push(`floor ${qty(p.strategic_floor, unit)}${p.floor_waived ? ' (waived)' : ''}`);
  if (p.dual_approval_threshold_usd) bits.push(`two approvals above ${usd(p.dual_approval_threshold_usd)}`);
  if (p.replenish_premium) bits.push(`replenish +${pct(p.replenish_premium)} within ${p.replenish_term_days} days`);
  return bits.join('; ');
}

/** needed_by first (sooner first), then the oldest request. */
const byNeed = (a, b) => (a.needed_by || '9999') .localeCompare(b.needed_by || '9999') || a.created_at.localeCompare(b.created_at);

export function approvals({ rerender }) {
  const canApprove = may('POST', '/v1/drawdowns/{id}/approve');
  const canReject = may('POST', '/v1/drawdowns/{id}/reject');
  // Two statuses wait for operators; each page asks for the next page of both.
  const cursors = { pending_approval: undefined, partially_approved: undefined };
  const done = new Set();
  const list = pagedTable({
    caption: 'Drawdowns waiting for approval (sooner needed first)',
    emptyText: 'Nothing waits for approval.',
    sort: byNeed,
    next: () => timed('approvals', async () => {
      const pages = await Promise.all(Object.keys(cursors).filter((st) => !done.has(st)).map(async (st) => {
        const p = await get(withQuery('/v1/drawdowns', { status: st, limit: PAGE, after: cursors[st] }));
        cursors[st] = p.next;
        if (!p.next) done.add(st);
        return p.items;
      }));
      const items = await withLookups(pages.flat(), { mfr: true, alloc: true });
      return { items, next: done.size < 2 ? 'more' : null };
    }),
    columns: [
      ['Needed by', (d) => date(d.needed_by)],
      ['Manufacturer', mfrName],
      ['Material', (d) => d.material],
      ['Quantity', (d) => h('span', {}, qty(d.quantity, d.unit), d.quantity !== d.quantity_requested ? h('small', {}, ` (asked ${dec(d.quantity_requested)})`) : '')],
      ['Value at locked price', (d) => (d.allocation ? usd(mul(d.quantity, d.allocation.locked_price_usd)) : '—')],
      ['Approvals', (d) => `${d.approvals.length} of ${d.required_approvals}${d.approvals.length ? ' (' + d.approvals.map((a) => a.operator).join(', ') + ')' : ''}`],
      ['Rule figures', (d) => h('small', {}, policyWords(d.policy, d.unit))],
      ['Justification', (d) => d.justification],
      ...(canApprove || canReject ? [['Actions', (d) => h('div', { class: 'actions' },
        canApprove ? form({
          inline: true, submit: 'Approve',
          fields: [{ name: 'quantity', label: `Quantity (${d.unit}, at most ${dec(d.quantity)})`, attrs: { inputmode: 'decimal' } }],
          run: async (v, key) => {
            const r = await call('POST', `/v1/drawdowns/${d.id}/approve`, { key, body: v.quantity ? { quantity: v.quantity } : undefined });
            flash.show(r.status === 'released'
              ? `Released ${qty(r.quantity, d.unit)} of ${d.material}; obligation ${r.obligation_id} opened.`
              : `Approved (${r.approvals.length} of ${r.required_approvals}); it waits for another operator.`);
            rerender();
            return 'Approved.';
          },
        }) : null,
        canReject ? form({
          inline: true, submit: 'Reject',
          fields: [{ name: 'reason', label: 'Reason for rejecting', required: true }],
          run: async (v, key) => {
            await call('POST', `/v1/drawdowns/${d.id}/reject`, { key, body: { reason: v.reason || '' } });
            flash.show(`Rejected the drawdown of ${qty(d.quantity, d.unit)} ${d.material}.`);
            rerender();
            return 'Rejected.';
          },
        }) : null)]] : []),
    ],
  });
  const page = h('div', {}, h('h1', {}, 'Approvals'), list);
  page.ready = list.ready;
  return page;
}

// ---- disruptions ------------------------------------------------------------------------------

export function disruptions({ rerender, params }) {
  const status = params.get('status') || '';
  const filter = h('form', { class: 'filters', role: 'search' },
    h('label', { for: 'dstatus' }, 'Status'),
    h('select', { id: 'dstatus', name: 'status' }, [['', 'all'], ['proposed', 'proposed'], ['active', 'active'], ['ended', 'ended']].map(([v, t]) => h('option', { value: v, selected: v === status }, t))),
    h('button', { type: 'submit' }, 'Show'));
  filter.addEventListener('submit', (e) => { e.preventDefault(); location.hash = withQuery('#/disruptions', { status: filter.elements.status.value }); });
  const act = (label, path, verb) => actionButton(label, async (_, key) => {
    const r = await call('POST', path, { key });
    flash.show(`${r.title}: ${verb}; now ${r.status}.`);
    rerender();
    return `${verb}.`;
  });
  const list = pagedTable({
    caption: 'Disruptions',
    emptyText: 'No disruptions.',
    next: (after) => timed('disruptions', () => get(withQuery('/v1/disruptions', { status, after, limit: PAGE }))),
    columns: [
      ['Title', (d) => h('span', {}, h('strong', {}, d.title), h('br'), h('small', {}, d.reason))],
      ['Severity', (d) => badge(d.severity)],
      ['Status', (d) => badge(d.status)],
      ['Materials', (d) => d.materials.map((m) => m.code).join(', ')],
      ['People', (d) => `proposed by ${d.proposed_by}${d.confirmed_by ? `; confirmed by ${d.confirmed_by}` : ''}${d.ended_by ? `; ended by ${d.ended_by}` : ''}`],
      ['Times', (d) => h('small', {}, `proposed ${time(d.created_at)}`, d.activated_at ? h('br') : '', d.activated_at ? `active ${time(d.activated_at)}` : '', d.ended_at ? h('br') : '', d.ended_at ? `ended ${time(d.ended_at)}` : '')],
      ...(may('POST', '/v1/disruptions/{id}/confirm') ? [['Actions', (d) => (d.status === 'proposed'
        ? act('Confirm', `/v1/disruptions/${d.id}/confirm`, 'confirmed')
        : d.status === 'active' ? act('End', `/v1/disruptions/${d.id}/end`, 'ended') : '—')]] : []),
    ],
  });
  const parts = [h('h1', {}, 'Disruptions')];
  if (may('POST', '/v1/disruptions')) {
    parts.push(form({
      title: 'Propose a disruption',
      className: 'card',
      fields: [
        { name: 'title', label: 'Title', required: true },
        { name: 'materials', label: 'Materials', required: true, hint: 'Material codes, separated by commas (e.g. DY_OXIDE, TB_OXIDE)' },
        { name: 'severity', label: 'Severity', required: true, options: [['limited', 'limited'], ['severe', 'severe'], ['critical', 'critical']] },
        { name: 'reason', label: 'Reason', type: 'textarea', required: true },
      ],
      submit: 'Propose',
      run: async (v, key) => {
        const body = { ...v, materials: (v.materials || '').split(',').map((x) => x.trim()).filter(Boolean) };
        const r = await call('POST', '/v1/disruptions', { key, body });
        flash.show(`Proposed “${r.title}”: a second operator must confirm it.`);
        rerender();
        return 'Proposed.';
      },
    }));
  }
  parts.push(filter, list);
  const page = h('div', {}, ...parts);
  page.ready = list.ready;
  return page;
}

// ---- obligations ------------------------------------------------------------------------------

const overdueFirst = (a, b) => (b.overdue - a.overdue) || (a.status === 'open' ? 0 : 1) - (b.status === 'open' ? 0 : 1) || a.due_date.localeCompare(b.due_date);

function obligationColumns({ showMfr, replenish }) {
  return [
    ['Due', (o) => h('span', {}, date(o.due_date), o.overdue ? h('span', {}, ' ', badge('overdue')) : '')],
    ...(showMfr ? [['Manufacturer', mfrName]] : []),
    ['Material', (o) => o.material],
    ['Due (with premium)', (o) => qty(o.quantity_due, o.unit)],
    ['Returned', (o) => qty(o.quantity_returned, o.unit)],
    ['Status', (o) => badge(o.status)],
    ['Opened', (o) => time(o.created_at)],
    ...(replenish ? [['Record replenishment', replenish]] : []),
  ];
}

export function obligations({ rerender, params }) {
  const status = params.get('status') ?? 'open';
  const canRecord = may('POST', '/v1/obligations/{id}/replenishments');
  const filter = h('form', { class: 'filters', role: 'search' },
    h('label', { for: 'ostatus' }, 'Status'),
    h('select', { id: 'ostatus', name: 'status' }, [['open', 'open'], ['settled', 'settled'], ['', 'all']].map(([v, t]) => h('option', { value: v, selected: v === status }, t))),
    h('button', { type: 'submit' }, 'Show'));
  filter.addEventListener('submit', (e) => { e.preventDefault(); location.hash = withQuery('#/obligations', { status: filter.elements.status.value || 'all' }); });
  let facs = [];
  const list = pagedTable({
    caption: 'Replenishment obligations (overdue first)',
    emptyText: 'No obligations.',
    sort: overdueFirst,
    rowClass: (o) => (o.overdue ? 'overdue' : null),
    next: (after) => timed('obligations', async () => {
      const [p, f] = await Promise.all([
        get(withQuery('/v1/obligations', { status: status === 'all' ? '' : status, after, limit: PAGE })),
        canRecord ? facilities() : null,
      ]);
      facs = f?.items || [];
      return { items: await withLookups(p.items, { mfr: true }), next: p.next };
    }),
    columns: obligationColumns({
      showMfr: true,
      replenish: canRecord ? (o) => (o.status !== 'open' ? '—' : form({
        inline: true, submit: 'Record',
        fields: [
          { name: 'facility', label: 'Facility', required: true, options: facs.map((f) => [f.code, `${f.code} (${f.name})`]) },
          { name: 'quantity', label: `Quantity (${o.unit})`, required: true, attrs: { inputmode: 'decimal' } },
          { name: 'grade', label: 'Grade (%)', required: true, attrs: { inputmode: 'decimal' } },
          { name: 'origin_country', label: 'Origin country', attrs: { maxlength: 2 } },
        ],
        run: async (v, key) => {
          const r = await call('POST', `/v1/obligations/${o.id}/replenishments`, { key, body: v });
          flash.show(`Recorded ${qty(v.quantity, o.unit)} of ${o.material} at ${v.facility}; the obligation is ${r.obligation?.status ?? 'updated'}.`);
          rerender();
          return 'Recorded.';
        },
      })) : null,
    }),
  });
  const page = h('div', {}, h('h1', {}, 'Obligations'), filter, list);
  page.ready = list.ready;
  return page;
}

// ---- ledger -----------------------------------------------------------------------------------

async function download(path, name) {
  const res = await call('GET', path, { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return `Downloaded ${name} (${dec(String(blob.size))} bytes).`;
}

export function ledger() {
  // Verifying recomputes the whole chain (seconds on a large journal), so it runs when asked;
  // the page itself loads one page of entries.
  const result = h('div', { 'aria-live': 'polite' }, h('p', {}, 'Recompute every hash, zero sum and balance of the journal, and show its head hash.'));
  const verifying = h('button', { type: 'button' }, 'Verify the chain');
  verifying.addEventListener('click', async () => {
    verifying.disabled = true;
    result.replaceChildren(loading('Verifying the chain…'));
    try {
      const v = await get('/v1/ledger/verify');
      result.replaceChildren(h('div', { class: v.ok ? 'ok card' : 'problem', role: 'status' },
        facts([
          ['Chain', v.ok ? 'verified: every hash, zero sum and balance holds' : `BROKEN: ${v.reason || 'see the service log'}`],
          ['Entries', dec(String(v.entries))],
          ['Head hash', h('code', { class: 'hash' }, v.head_hash || '—')],
          ['Checked', time(new Date().toISOString())],
        ])));
    } catch (e) {
      result.replaceChildren(problemBox(e));
    } finally {
      verifying.disabled = false;
    }
  });
  const exp = form({
    title: 'Export',
    className: 'card',
    fields: [
      { name: 'format', label: 'Format', options: [['jsonl', 'JSON lines'], ['csv', 'CSV']] },
      { name: 'from', label: 'From (UTC, RFC 3339)', hint: 'e.g. 2026-01-01T00:00:00Z' },
      { name: 'to', label: 'To (UTC, RFC 3339)' },
    ],
    submit: 'Download',
    run: (v) => download(withQuery('/v1/ledger/export', v), `stockpile-ledger.${v.format === 'csv' ? 'csv' : 'jsonl'}`),
  });
  const entries = pagedTable({
    caption: 'Journal entries (oldest first)',
    emptyText: 'The journal is empty.',
    next: (after) => timed('ledger', () => get(withQuery('/v1/ledger/entries', { after_seq: after, limit: PAGE }))),
    columns: [
      ['Seq', (e) => dec(String(e.seq))],
      ['Recorded', (e) => time(e.recorded_at)],
      ['Kind', (e) => words(e.kind)],
      ['Postings', (e) => h('ul', { class: 'postings' }, e.postings.map((p) => h('li', {}, `${p.account}: ${dec(p.amount)} ${p.asset}`)))],
      ['Hash', (e) => h('code', { class: 'hash' }, e.hash)],
    ],
  });
  const page = h('div', {}, h('h1', {}, 'Ledger'), section('Verification', result, verifying), exp, section('Entries', entries));
  page.ready = entries.ready;
  return page;
}

// ---- audit ------------------------------------------------------------------------------------

export function audit({ params }) {
  const actor = params.get('actor') || '';
  const action = params.get('action') || '';
  const filter = h('form', { class: 'filters', role: 'search' },
    h('label', { for: 'aactor' }, 'Actor (sub)'), h('input', { id: 'aactor', name: 'actor', value: actor }),
    h('label', { for: 'aaction' }, 'Action'), h('input', { id: 'aaction', name: 'action', value: action, placeholder: 'e.g. drawdown.approve' }),
    h('button', { type: 'submit' }, 'Filter'));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = withQuery('#/audit', { actor: filter.elements.actor.value.trim(), action: filter.elements.action.value.trim() });
  });
  const list = pagedTable({
    caption: 'Audit events (oldest first)',
    emptyText: 'No audit events match.',
    next: (after) => timed('audit', () => get(withQuery('/v1/audit-events', { actor, action, after, limit: PAGE }))),
    columns: [
      ['At', (a) => time(a.at)],
      ['Actor', (a) => `${a.actor_sub} (${a.actor_role})`],
      ['Action', (a) => a.action],
      ['Target', (a) => a.target ?? '—'],
      ['Outcome', (a) => badge(a.outcome, a.outcome === 'ok' ? 'ok' : 'refused')],
      ['Request', (a) => h('small', {}, a.request_id ?? '—')],
    ],
  });
  const page = h('div', {}, h('h1', {}, 'Audit events'), filter, list);
  page.ready = list.ready;
  return page;
}

// ---- reports ----------------------------------------------------------------------------------

export function reports() {
  const cover = h('div', {}, loading());
  const conc = h('div', {}, loading());
  const later = [];
  for (const [path, title] of [['/v1/reports/valuation', 'Valuation'], ['/v1/reports/net-return', 'Net return']]) {
    if (documented(path)) later.push(h('li', {}, h('a', { href: `#/report?path=${encodeURIComponent(path)}` }, title)));
  }
  const stressOut = h('div');
  const stress = form({
    title: 'Stress test (simulated; changes nothing)',
    className: 'card',
    fields: [
      { name: 'severity', label: 'Severity', options: [['limited', 'limited'], ['severe', 'severe'], ['critical', 'critical']] },
      { name: 'days', label: 'Days', type: 'number', required: true, value: '90', attrs: { min: 1, max: 3650 } },
      { name: 'demand_factor', label: 'Demand factor', value: '1', attrs: { inputmode: 'decimal' } },
    ],
    submit: 'Simulate',
    run: async (v, key) => {
      const r = await call('POST', '/v1/reports/stress', { key, body: { ...v, days: Number(v.days) } });
      stressOut.replaceChildren(table(`Stress: ${r.severity} for ${r.days} days, demand × ${r.demand_factor}`, [
        ['Material', (m) => m.material],
        ['Demand', (m) => dec(m.demand)],
        ['Served', (m) => dec(m.served)],
        ['Shortfall', (m) => dec(m.shortfall)],
        ['Days fully served', (m) => dec(String(m.days_fully_served))],
        ['Exhausted on day', (m) => (m.exhausted_on_day ? dec(String(m.exhausted_on_day)) : 'never')],
        ['Available after', (m) => dec(m.available_after)],
      ], r.materials));
      return 'Simulated.';
    },
  });
  const page = h('div', {}, h('h1', {}, 'Reports'),
    section('Days of cover', cover), section('Concentration of origin', conc), stress, stressOut,
    later.length ? section('Economics', h('ul', {}, later)) : null);
  page.ready = timed('reports', () => Promise.all([get('/v1/reports/cover'), get('/v1/reports/concentration')])).then(([c, k]) => {
    cover.replaceChildren(table(`Days of cover (target ${c.target_days} days)`, [
      ['Material', (m) => m.material],
      ['On hand', (m) => qty(m.on_hand, m.unit)],
      ['Available', (m) => qty(m.available, m.unit)],
      ['Daily demand', (m) => qty(m.daily_demand, m.unit)],
      ['Days of cover', (m) => (m.days_of_cover ? `${dec(m.days_of_cover)} days` : '—')],
      ['Days to zero', (m) => (m.days_to_zero ? `${dec(m.days_to_zero)} days` : '—')],
      ['Meets target', (m) => (m.meets_target ? 'yes' : 'NO')],
    ], c.materials));
    conc.replaceChildren(table('Concentration by origin', [
      ['Material', (m) => m.material],
      ['Leading origin', (m) => `${m.leading_country ?? '—'} ${m.leading_share ? pct(m.leading_share) : ''}`],
      ['Origins', (m) => m.by_origin.map((o) => `${o.country} ${pct(o.share)}`).join(', ')],
      ['HHI', (m) => dec(String(m.hhi))],
      ['Alert', (m) => (m.alert ? 'yes' : 'no')],
    ], k.materials));
  }).catch((e) => { cover.replaceChildren(problemBox(e)); conc.replaceChildren(); });
  return page;
}

/** A figure as text: decimal strings with separators (and USD when the key says so). */
function figure(key, v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return key.endsWith('_usd') ? usd(v) : dec(v);
  if (typeof v === 'number') return dec(String(v));
  if (typeof v === 'object') return Array.isArray(v) && !v.length ? 'none' : Object.entries(v).map(([k, x]) => `${words(k)} ${figure(k, x)}`).join('; ');
  return String(v);
}

/** A report that landed after the console (valuation, net return): its scalar figures as
 * label/value pairs, each list of rows as a table; every value as text. */
export function report({ params }) {
  const path = params.get('path') || '';
  const out = h('div', {}, loading());
  const page = h('div', {}, h('h1', {}, `Report ${path.replace('/v1/reports/', '')}`), out);
  const known = path.startsWith('/v1/reports/') && documented(path);
  page.ready = (known ? timed('report', () => get(path)).then((r) => {
    const scalars = Object.entries(r).filter(([, v]) => !Array.isArray(v) || !v.length || typeof v[0] !== 'object');
    const lists = Object.entries(r).filter(([, v]) => Array.isArray(v) && v.length && typeof v[0] === 'object');
    out.replaceChildren(facts(scalars.map(([k, v]) => [words(k), figure(k, v)])),
      ...lists.flatMap(([k, rows]) => [h('h2', {}, words(k)), table(words(k), Object.keys(rows[0]).map((c) => [words(c), (row) => figure(c, row[c])]), rows)]));
  }) : Promise.resolve(out.replaceChildren(empty('No such report.')))).catch((e) => out.replaceChildren(problemBox(e)));
  return page;
}

// ---- the manufacturer's own view --------------------------------------------------------------

export function mine({ rerender }) {
  const org = session.claims()?.org;
  const head = h('div', {}, loading());
  const allocs = h('div', {}, loading());
  const submitBox = h('div');
  const canCancel = may('POST', '/v1/drawdowns/{id}/cancel');
  const drawdownList = pagedTable({
    caption: 'Our drawdowns (newest last)',
    emptyText: 'No drawdowns yet.',
    next: (after) => timed('mine', async () => {
      const p = await get(withQuery('/v1/drawdowns', { after, limit: PAGE }));
      return { items: await withLookups(p.items), next: p.next };
    }),
    columns: [
      ['Requested', (d) => time(d.created_at)],
      ['Material', (d) => d.material],
      ['Quantity', (d) => qty(d.quantity, d.unit)],
      ['Needed by', (d) => date(d.needed_by)],
      ['Status', (d) => h('span', {}, badge(d.status), d.reject_reason ? h('small', {}, ` ${d.reject_reason}`) : '')],
      ['Approvals', (d) => `${d.approvals.length} of ${d.required_approvals}`],
      ['Justification', (d) => d.justification],
      ...(canCancel ? [['Actions', (d) => (['pending_approval', 'partially_approved'].includes(d.status)
        ? actionButton('Cancel', async (_, key) => {
          await call('POST', `/v1/drawdowns/${d.id}/cancel`, { key });
          flash.show(`Cancelled the drawdown of ${qty(d.quantity, d.unit)} ${d.material}; the hold is released.`);
          rerender();
          return 'Cancelled.';
        }) : '—')]] : []),
    ],
  });
  const obligationList = pagedTable({
    caption: 'Our obligations (overdue first)',
    emptyText: 'No obligations.',
    sort: overdueFirst,
    rowClass: (o) => (o.overdue ? 'overdue' : null),
    next: (after) => timed('mine', async () => {
      const p = await get(withQuery('/v1/obligations', { after, limit: PAGE }));
      return { items: await withLookups(p.items), next: p.next };
    }),
    columns: obligationColumns({ showMfr: false }),
  });
  const page = h('div', {}, h('h1', {}, 'Our reserve account'), head, section('Allocations', allocs), submitBox,
    section('Drawdowns', drawdownList), section('Obligations', obligationList));
  const own = timed('mine', () => Promise.all([manufacturer(org), allocations(org)])).then(([m, a]) => {
    head.replaceChildren(facts([['Manufacturer', m.name], ['Priority tier', m.priority_tier], ['Status', m.status]]));
    const items = a.items;
    allocs.replaceChildren(items.length ? table('Our allocations and what may be drawn now', [
      ['Material', (x) => x.material],
      ['Allocation', (x) => dec(x.quantity)],
      ['Locked price', (x) => `${usd(x.locked_price_usd)} per unit`],
      ['Outstanding', (x) => dec(x.outstanding)],
      ['Held', (x) => dec(x.held)],
      ['Drawable now', (x) => dec(x.drawable_now)],
      ['Normal monthly use', (x) => dec(x.monthly_consumption)],
    ], items) : empty('No allocations yet.'));
    if (may('POST', '/v1/drawdowns') && items.length) {
      submitBox.replaceChildren(form({
        title: 'Request a drawdown',
        className: 'card',
        fields: [
          { name: 'material', label: 'Material', required: true, options: items.map((x) => [x.material, `${x.material} (drawable now ${dec(x.drawable_now)})`]) },
          { name: 'quantity', label: 'Quantity', required: true, attrs: { inputmode: 'decimal' } },
          { name: 'needed_by', label: 'Needed by', type: 'date' },
          { name: 'justification', label: 'Justification', type: 'textarea', required: true },
        ],
        submit: 'Submit request',
        run: async (v, key) => {
          const r = await call('POST', '/v1/drawdowns', { key, body: v });
          flash.show(`Requested ${dec(r.quantity)} ${r.material}: ${words(r.status)}.`);
          rerender();
          return 'Submitted.';
        },
      }));
    }
  }).catch((e) => head.replaceChildren(problemBox(e)));
  page.ready = Promise.all([own, drawdownList.ready, obligationList.ready]);
  return page;
}
