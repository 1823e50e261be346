// axe-core in the page, and the layout checks every screen of the journey must
// pass: 0 critical and 0 serious WCAG 2.2 A/AA violations (moderate and minor
// ones are printed, not failed), and no sideways scrolling.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** Every axe result of one run, tallied across the run for the summary line. */
export const tally = { runs: 0, moderate: new Map(), minor: 0, held: [] };
// E2E_A11Y_COLLECT=1 (for fixing, never in CI) logs every failure and goes on, so one
// run lists them all; the step then fails at its end if any was held.
const COLLECT = process.env.E2E_A11Y_COLLECT === '1';
function fail(msg) {
  if (!COLLECT) throw new Error(msg);
  tally.held.push(msg);
  console.log('      HELD: ' + msg);
}

/**
 * axeCheck runs axe on the page as it is and throws on any critical or serious
 * violation, naming the rule, the elements and what axe says to fix.
 * Page-evaluated code is not subject to the page's Content-Security-Policy, so
 * axe goes in through evaluate rather than a <script> tag the CSP would block.
 */
export async function axeCheck(page, label, log) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(AXE);
  const res = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  tally.runs++;
  const bad = res.violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
  for (const v of res.violations.filter((v) => v.impact === 'moderate')) {
    const n = tally.moderate.get(v.id) ?? 0;
    tally.moderate.set(v.id, n + 1);
    log(`axe moderate [${label}] ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes[0]?.target?.join(' ')})`);
  }
  tally.minor += res.violations.filter((v) => v.impact === 'minor').length;
  if (bad.length) {
    const lines = bad.map(
      (v) =>
        `  ${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes
          .slice(0, 4)
          .map((n) => `      ${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(0, 3).join(' ')}`)
          .join('\n'),
    );
    fail(`axe on ${label}: ${bad.length} critical or serious violation(s)\n${lines.join('\n')}`);
  }
  return res.violations.length;
}

/** noSideScroll throws when the page is wider than the viewport, naming what sticks out. */
export async function noSideScroll(page, label) {
  // A viewport just changed lays out again over a few frames (antd reads its
  // breakpoints from media queries and ResizeObserver): judge the page once it
  // has settled, within 3 s, not the frame after the resize.
  let r;
  for (const until = Date.now() + 3000; ; ) {
    r = await sideScroll(page);
    if (r.scrollWidth <= r.innerWidth || Date.now() > until) break;
    await page.waitForTimeout(100);
  }
  if (r.scrollWidth > r.innerWidth) fail(`${label} scrolls sideways: scrollWidth ${r.scrollWidth} > innerWidth ${r.innerWidth}; wider: ${r.out.join(', ')}`);
}

async function sideScroll(page) {
  return page.evaluate(() => {
    const se = document.scrollingElement;
    const w = window.innerWidth;
    const out = [];
    if (se.scrollWidth > w) {
      for (const el of document.querySelectorAll('body *')) {
        const b = el.getBoundingClientRect();
        if (b.right > w + 1 && b.width > 0 && getComputedStyle(el).position !== 'fixed') {
          // Only the outermost offender of each branch.
          if (!out.some((o) => o.el.contains(el))) out.push({ el, desc: `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : ''} (right ${Math.round(b.right)})` });
        }
        if (out.length > 5) break;
      }
    }
    return { scrollWidth: se.scrollWidth, innerWidth: w, out: out.map((o) => o.desc) };
  });
}

/** smallTargets lists visible controls under 44×44 CSS pixels (phones and tablets). */
export async function smallTargets(page) {
  return page.evaluate(() => {
    const sel = 'button, a[href], input:not([type=hidden]), select, textarea, [role=button], [role=checkbox], [role=switch], [role=tab], [role=menuitem], [role=combobox]';
    const small = [];
    for (const el of document.querySelectorAll(sel)) {
      const b = el.getBoundingClientRect();
      if (b.width === 0 || b.height === 0) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || el.closest('[aria-hidden=true]')) continue;
      // An input inside a taller wrapper (antd's affix wrapper, select, checkbox) is hit through it.
      const box = el.closest('.ant-input-affix-wrapper, .ant-select, .ant-checkbox-wrapper, .ant-radio-wrapper, .ant-input-number, .ant-picker, .ant-switch, label') ?? el;
      const r = box.getBoundingClientRect();
      // Links inside running text are exempt (WCAG 2.5.8 "inline").
      if (el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.parentElement && el.parentElement.textContent.trim().length > el.textContent.trim().length + 10) continue;
      if (r.width < 44 - 0.5 || r.height < 44 - 0.5) small.push(`${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent || el.getAttribute('placeholder') || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    return small;
  });
}
