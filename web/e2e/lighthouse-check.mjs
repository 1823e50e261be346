// Re-judges saved Lighthouse scores (the lighthouse.json step 15 writes next to
// its stack's data) against the thresholds, with the same rules and environment
// variables as the e2e step: `node e2e/lighthouse-check.mjs <lighthouse.json>`.
// Exits 1 when an enforced score is under its threshold. Used to show that the
// check fails, e.g. LIGHTHOUSE_MIN_SCORE=101.
import { readFileSync } from 'node:fs';
import { belowThresholds, enforced, thresholds } from './lighthouse.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node e2e/lighthouse-check.mjs <lighthouse.json>');
  process.exit(2);
}
const rows = JSON.parse(readFileSync(file, 'utf8'));
const must = enforced();
console.log(`thresholds: mobile ${JSON.stringify(thresholds('mobile'))}, desktop ${JSON.stringify(thresholds('desktop'))}; enforced: ${[...must].join(', ')}`);
const below = belowThresholds(rows);
for (const b of below) console.log(`${must.has(b.category) ? 'FAIL' : 'below (not enforced)'}: ${b.text}`);
const failing = below.filter((b) => must.has(b.category));
console.log(failing.length ? `lighthouse: FAILED, ${failing.length} score(s) under the thresholds` : 'lighthouse: every enforced score meets its threshold');
process.exit(failing.length ? 1 : 0);
