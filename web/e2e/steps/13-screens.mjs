// Every screen of the journey, judged by axe at a desktop (1440×900) and a phone
// (390×844) size, in English with the light theme and in Chinese with the dark
// theme (chosen through the system setting, prefers-color-scheme, which the app
// follows): 0 critical and 0 serious violations, moderate ones printed. At the
// phone and a tablet (820×1180) size no screen may scroll sideways. Signed-out
// screens are judged in a browser context of their own. The phone screenshots of
// the customers list, a profile, the import wizard and the overview are taken
// here, in both languages.
import { axeCheck, noSideScroll, smallTargets, tally } from '../a11y.mjs';

export const timeoutMs = 600_000;

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const TABLET = { width: 820, height: 1180 };

export default async function ({ page, baseURL, state, shot, log, expect }) {
  const t = `/t/${state.slug}`;
  // [name, path, optional action that opens a dialog or sheet on the page]
  const screens = [
    ['overview', t, null, 'overview'],
    ['customers', `${t}/customers`, null, 'customers'],
    ['customers filtered', `${t}/customers?custom.tier=gold`],
    ['new customer sheet', `${t}/customers`, async (p) => {
      await p.getByTestId('new-customer').click();
      await p.getByTestId('customer-form').waitFor();
    }],
    ['customer profile', `${t}/customers/${state.customerId}`, null, 'profile'],
    ['edit customer sheet', `${t}/customers/${state.customerId}`, async (p) => {
      await p.getByTestId('edit-customer').click();
      await p.getByTestId('edit-form').waitFor();
    }],
    ['tasks', `${t}/tasks`],
    ['imports', `${t}/imports`],
    ['import wizard', `${t}/imports/new`, null, 'import'],
    ['import result', `${t}/imports/${state.importId}`],
    ['custom fields', `${t}/fields`],
    ['members', `${t}/members`],
    ['invite dialog', `${t}/members`, async (p) => {
      await p.getByTestId('invite-open').click();
      await p.getByRole('dialog').waitFor();
    }],
    ['roles', `${t}/roles`],
    ['teams', `${t}/teams`],
    ['api keys', `${t}/api-keys`],
    ['audit log', `${t}/audit`],
    ['company settings', `${t}/settings`],
    ['account settings', '/settings'],
    ['menu drawer', t, async (p) => {
      await p.getByTestId('menu-open').click();
      await p.getByTestId('main-nav').waitFor();
    }],
  ];
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  // The profile shows its scores card only once a scoring run has been; the
  // nightly one (02:37 UTC) may or may not fall inside this run, so score now
  // and judge the profile with its scores, whatever the time of day.
  const scored = await page.evaluate(async (slug) => {
    const h = { Accept: 'application/json', 'X-Clientele-CSRF': '1' };
    const r = await fetch(`/api/v1/t/${slug}/customers/scores/recompute`, { method: 'POST', headers: h });
    if (r.status !== 202) return `recompute: ${r.status} ${await r.text()}`;
    const { job_id: id } = await r.json();
    for (let i = 0; i < 240; i++) {
      const j = await (await fetch(`/api/v1/t/${slug}/jobs/${id}`, { headers: h })).json();
      if (j.status === 'succeeded') return 'ok';
      if (j.status === 'failed' || j.status === 'canceled') return `scoring job ${j.status}`;
      await new Promise((res) => setTimeout(res, 250));
    }
    return 'scoring job not done after 60 s';
  }, state.slug);
  expect(scored === 'ok', `customer scores computed before the screens are judged: ${scored}`);
  const small = new Map();

  for (const [lang, scheme] of [['en', 'light'], ['zh', 'dark']]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate(([lang, id]) => {
      localStorage.setItem('clientele.lang', lang);
      localStorage.setItem(`clientele.lang.${id}`, lang);
      localStorage.removeItem('clientele.theme'); // follow the system
    }, [lang, me]);
    for (const [name, path, open, shotName] of screens) {
      // One load per screen: judged at the desktop size, then the same page at the
      // phone size (the layout follows the width live), then at a tablet's.
      await page.setViewportSize(DESKTOP);
      await page.goto(path);
      await settle(page);
      let opened = true;
      for (const size of [DESKTOP, PHONE]) {
        if (size !== DESKTOP) {
          await page.setViewportSize(size);
          await page.waitForTimeout(250);
        }
        const label = `${name} (${lang}, ${scheme}, ${size.width}×${size.height})`;
        if (open && size === DESKTOP && name === 'menu drawer') continue; // a drawer only below 992 px
        if (open && (size === DESKTOP || name === 'menu drawer')) {
          if ((await open(page)) === false) opened = false;
          await page.waitForTimeout(350); // the sheet's entry animation
        }
        if (!opened) continue;
        if (size === DESKTOP) {
          expect((await page.locator('html').getAttribute('lang')) === (lang === 'zh' ? 'zh-CN' : 'en'), `${label}: html lang`);
          expect((await page.locator('html').getAttribute('data-theme')) === scheme, `${label}: the theme follows the system (${scheme})`);
        }
        await axeCheck(page, label, log);
        if (size === PHONE) {
          await noSideScroll(page, label);
          for (const s of await smallTargets(page)) small.set(s, (small.get(s) ?? 0) + 1);
          if (shotName && !open) await shot(`phone-${shotName}-${lang}`);
        }
      }
      if (!open) {
        await page.setViewportSize(TABLET);
        await page.waitForTimeout(150);
        await noSideScroll(page, `${name} (${lang}, 820×1180)`);
      }
    }
  }

  // The signed-out screens, in a context without the session.
  const ctx = await page.context().browser().newContext({ baseURL, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
  try {
    const p = await ctx.newPage();
    p.setDefaultTimeout(20_000);
    for (const [lang, scheme] of [['en', 'light'], ['zh', 'dark']]) {
      await p.emulateMedia({ colorScheme: scheme });
      for (const path of ['/login', '/registration', '/recovery']) {
        for (const size of [DESKTOP, PHONE]) {
          await p.setViewportSize(size);
          await p.goto(path);
          if (lang === 'zh' && path === '/login' && size === DESKTOP) {
            await p.getByTestId('lang-zh').click();
            await p.waitForTimeout(500); // the language buttons' colour transition
          }
          await p.locator('form').first().waitFor();
          await settle(p);
          const label = `${path} (${lang}, ${scheme}, ${size.width}×${size.height})`;
          await axeCheck(p, label, log);
          if (size === PHONE) await noSideScroll(p, label);
        }
      }
    }
  } finally {
    await ctx.close();
  }
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.evaluate((id) => {
    localStorage.setItem('clientele.lang', 'en');
    localStorage.setItem(`clientele.lang.${id}`, 'en');
  }, me);
  log(`axe: ${tally.runs} runs, 0 critical or serious; moderate: ${[...tally.moderate].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}; minor: ${tally.minor}`);
  if (small.size) log(`touch targets under 44×44 at 390 px: ${[...small.keys()].slice(0, 15).join('; ')}${small.size > 15 ? ` … (${small.size} in all)` : ''}`);
  else log('touch targets: every control on every phone screen is at least 44×44');
  if (tally.held.length) throw new Error(`${tally.held.length} accessibility or layout failures (listed above)`);
}

/** settle waits for the screen's data: the network quiet and no spinner left. */
async function settle(page) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.locator('.ant-spin-spinning').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  await page.waitForTimeout(100);
}
