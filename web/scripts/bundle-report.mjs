// Prints the gzipped size of the JavaScript the first screen loads (the entry
// chunk and what index.html preloads), and fails the build above the budget.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET_KB = 350;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (f) => gzipSync(readFileSync(join(dist, f))).length;
let total = 0;
for (const f of initial) total += gz(f);
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const report = {
  initialJsGzipKB: +(total / 1024).toFixed(1),
  initialFiles: initial,
  chunks: all.length,
  allJsGzipKB: +(all.reduce((s, f) => s + gz('assets/' + f), 0) / 1024).toFixed(1),
  budgetKB: BUDGET_KB,
};
writeFileSync(join(dist, 'bundle-report.json'), JSON.stringify(report, null, 2));
console.log(`bundle: initial route JS ${report.initialJsGzipKB} KB gzipped (budget ${BUDGET_KB} KB), ${report.chunks} chunks, ${report.allJsGzipKB} KB gzipped in all`);
if (total / 1024 > BUDGET_KB) {
  console.error(`bundle: the initial route's JavaScript is over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
