// Lighthouse on the sign-in page, the customers list, a customer's profile and
// the overview, with the mobile and the desktop presets. The step fails when a
// score is under its threshold (see ../lighthouse.mjs); the scores are written to
// <run dir>/lighthouse.json and printed, for docs/benchmarks.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { belowThresholds, runLighthouse, thresholds } from '../lighthouse.mjs';

export const timeoutMs = 420_000;

export default async function ({ page, baseURL, state, dataDir, log, chromePath }) {
  const cookies = await page.context().cookies(baseURL);
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const pages = [
    { name: 'sign-in', url: `${baseURL}/login`, signedIn: false },
    { name: 'customers list', url: `${baseURL}/t/${state.slug}/customers`, signedIn: true },
    { name: 'customer profile', url: `${baseURL}/t/${state.slug}/customers/${state.customerId}`, signedIn: true },
    { name: 'overview', url: `${baseURL}/t/${state.slug}`, signedIn: true },
  ];
  const rows = await runLighthouse({ chromePath, pages, cookie, log });
  writeFileSync(join(dataDir, '..', 'lighthouse.json'), JSON.stringify(rows, null, 2));
  if (process.env.LIGHTHOUSE_REPORT) writeFileSync(process.env.LIGHTHOUSE_REPORT, JSON.stringify(rows, null, 2));
  // A signed-in page that ended on the sign-in screen was not judged as a member sees it.
  for (const r of rows) {
    if (r.name !== 'sign-in' && /\/login/.test(r.finalUrl)) throw new Error(`Lighthouse on ${r.name} ended at ${r.finalUrl}: the session cookie did not reach it`);
  }
  const below = belowThresholds(rows);
  log(`thresholds: mobile ${JSON.stringify(thresholds('mobile'))}, desktop ${JSON.stringify(thresholds('desktop'))}`);
  if (below.length) throw new Error(`Lighthouse scores under the thresholds:\n  ${below.join('\n  ')}`);
}
