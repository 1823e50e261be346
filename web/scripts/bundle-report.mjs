// Prints the gzipped JavaScript of the initial route (the entry chunk and what
// index.html preloads) and of each key screen (the initial route plus the screen's
// lazy chunks and their static imports, from Vite's manifest). The build fails when
// a screen someone can land on first (sign-in, sign-up, the company wizard, a
// company's overview before its charts) is over the budget. The manifest is
// removed afterwards so it is not served.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET_KB = 350;
const FIRST = ['/login (signed out)', '/registration', '/welcome (company wizard)', '/t/:tenant overview, before its charts'];
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (f) => gzipSync(readFileSync(join(dist, f))).length;
const kb = (n) => +(n / 1024).toFixed(1);
const sum = (files) => [...files].reduce((s, f) => s + gz(f), 0);
const total = sum(initial);
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));

// Routes: the screen's module and everything it imports statically, beyond the initial set.
const manifestPath = join(dist, '.vite/manifest.json');
const routes = {};
if (existsSync(manifestPath)) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const closure = (key, seen = new Set()) => {
    const e = manifest[key];
    if (!e || seen.has(e.file)) return seen;
    seen.add(e.file);
    for (const i of e.imports ?? []) closure(i, seen);
    return seen;
  };
  // A route is its screen's module plus the shell around it, when it has one.
  const shell = 'src/app/Shell.tsx';
  const screens = {
    // First screens (held to the budget) ...
    '/login (signed out)': ['src/features/account/LoginPage.tsx'],
    '/registration': ['src/features/account/RegistrationPage.tsx'],
    '/welcome (company wizard)': ['src/features/tenants/CreateCompanyPage.tsx'],
    '/t/:tenant overview, before its charts': [shell, 'src/features/home/OverviewPage.tsx'],
    // ... and later ones, reported.
    '/t/:tenant overview, charts loaded': [shell, 'src/features/home/OverviewPage.tsx', 'src/features/home/Chart.tsx'],
    '/t/:tenant/customers': [shell, 'src/features/customers/CustomersPage.tsx'],
    '/t/:tenant/customers/:id (a profile)': [shell, 'src/features/customers/CustomerPage.tsx'],
    '/t/:tenant/members': [shell, 'src/features/access/MembersPage.tsx'],
    '/t/:tenant/audit': [shell, 'src/features/audit/AuditPage.tsx'],
  };
  for (const [name, keys] of Object.entries(screens)) {
    if (!keys.every((k) => manifest[k])) continue;
    const files = new Set();
    for (const k of keys) closure(k, files);
    const extra = [...files].filter((f) => !initial.includes(f));
    routes[name] = { addsGzipKB: kb(sum(extra)), totalGzipKB: kb(total + sum(extra)), first: FIRST.includes(name) };
  }
  if (!process.env.KEEP_MANIFEST) rmSync(join(dist, '.vite'), { recursive: true, force: true });
}

const report = {
  initialJsGzipKB: kb(total),
  initialFiles: initial,
  budgetKB: BUDGET_KB,
  routes,
  chunks: all.length,
  allJsGzipKB: kb(all.reduce((s, f) => s + gz('assets/' + f), 0)),
};
writeFileSync(join(dist, 'bundle-report.json'), JSON.stringify(report, null, 2));
console.log(`bundle: initial route JS ${report.initialJsGzipKB} KB gzipped (budget ${BUDGET_KB} KB), ${report.chunks} chunks, ${report.allJsGzipKB} KB gzipped in all`);
for (const [name, r] of Object.entries(routes)) console.log(`bundle:   ${name.padEnd(40)} ${String(r.totalGzipKB).padStart(6)} KB (initial + ${r.addsGzipKB} KB on demand)${r.first ? ' [first screen: budgeted]' : ''}`);
const over = Object.entries(routes).filter(([, r]) => r.first && r.totalGzipKB > BUDGET_KB).map(([n]) => n);
if (total / 1024 > BUDGET_KB || over.length) {
  console.error(`bundle: over the ${BUDGET_KB} KB budget: ${over.length ? over.join(', ') : 'the initial route'}`);
  process.exit(1);
}
