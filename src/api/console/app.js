// The console's shell: hash routes, the navigation a role may use, sign-in and sign-out.

import { session, onUnauthorized, loadRoles, may } from './api.js';
import { h, flash, problemBox } from './ui.js';
import * as pages from './pages.js';

const staff = () => session.claims()?.role !== 'manufacturer';
const ROUTES = {
  overview: { title: 'Materials', page: pages.overview, show: () => true },
  approvals: { title: 'Approvals', page: pages.approvals, show: () => staff() && may('GET', '/v1/drawdowns') },
  disruptions: { title: 'Disruptions', page: pages.disruptions, show: () => may('GET', '/v1/disruptions') },
  obligations: { title: 'Obligations', page: pages.obligations, show: () => staff() && may('GET', '/v1/obligations') },
  ledger: { title: 'Ledger', page: pages.ledger, show: () => may('GET', '/v1/ledger/verify') },
  audit: { title: 'Audit', page: pages.audit, show: () => may('GET', '/v1/audit-events') },
  reports: { title: 'Reports', page: pages.reports, show: () => may('GET', '/v1/reports/cover') },
  report: { title: 'Report', page: pages.report, show: () => may('GET', '/v1/reports/cover'), hidden: true },
  mine: { title: 'Our account', page: pages.mine, show: () => session.claims()?.role === 'manufacturer' },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
main.before(flash);
let shown = null;
let generation = 0;

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: path || '', params: new URLSearchParams(query || '') };
}

const home = () => (session.claims()?.role === 'manufacturer' ? 'mine' : 'overview');

function signOut() {
  session.signOut();
  pages.forget();
  flash.show('Signed out: the token is forgotten.');
  shown = '#/signin';
  location.hash = '#/signin';
}

function drawShell(current) {
  const c = session.claims();
  if (!c) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  nav.replaceChildren(h('ul', {}, Object.entries(ROUTES).filter(([, r]) => !r.hidden && r.show()).map(([name, r]) =>
    h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === current ? 'page' : null }, r.title)))));
  const out = h('button', { type: 'button', class: 'signout' }, 'Sign out');
  out.addEventListener('click', signOut);
  who.replaceChildren(h('span', {}, `${c.sub} · ${c.role}`), out);
}

async function render({ keepFlash = false } = {}) {
  const gen = ++generation;
  const { name, params } = route();
  if (!keepFlash && shown !== location.hash) flash.show();
  shown = location.hash;
  delete main.dataset.loaded;
  if (!session.token) {
    drawShell(null);
    if (name !== 'signin') { location.replace('#/signin'); return; }
    document.title = 'Sign in · Stockpile console';
    main.replaceChildren(pages.signIn({ go: () => { location.hash = `#/${home()}`; } }));
    main.dataset.loaded = 'signin';
    return;
  }
  try {
    await loadRoles();
  } catch (e) {
    main.replaceChildren(problemBox(e));
    return;
  }
  if (gen !== generation) return;
  const r = ROUTES[name];
  if (!r || !r.show()) { location.replace(`#/${home()}`); return; }
  drawShell(name);
  pages.forget(); // lookups live for one page view, so a page shows what its calls returned
  document.title = `${r.title} · Stockpile console`;
  const node = r.page({ params, rerender: () => render({ keepFlash: true }) });
  main.replaceChildren(node);
  main.setAttribute('aria-busy', 'true');
  await node.ready;
  if (gen !== generation) return; // a later render replaced this page
  main.removeAttribute('aria-busy');
  main.dataset.loaded = name;
}

onUnauthorized(() => {
  pages.forget();
  flash.show('The service refused the token (expired or revoked): sign in again.');
  shown = '#/signin';
  location.hash = '#/signin';
});
// After a navigation, focus moves to the new page (screen readers announce it, Tab starts there).
window.addEventListener('hashchange', () => render().then(() => main.focus({ preventScroll: true })));
render();
