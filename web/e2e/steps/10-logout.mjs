// Log out from the user menu: the session ends, and the company's pages send
// the browser to sign in again. Then "forgot your password": the recovery code
// arrives by (dev) mail, and a new password is set on the account screen.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function ({ page, state, shot, api, expect, dataDir }) {
  await page.goto(`/t/${state.slug}`);
  await page.getByTestId('overview').waitFor();
  await page.getByTestId('user-menu').click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await page.waitForURL(/\/login/);
  await page.getByRole('heading', { name: 'Sign in to Clientele' }).waitFor();
  const me = await api('GET', '/me');
  expect(me.status === 401, `GET /me after logout answers ${me.status}, want 401`);
  await page.goto(`/t/${state.slug}/members`);
  await page.waitForURL(/\/login\?.*return_to=/);
  await page.getByTestId('login-form').waitFor();
  await shot('10-login');

  // Recovery by emailed code.
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.waitForURL(/\/recovery/);
  const form = page.getByTestId('recovery-form');
  await form.getByLabel('Email').fill(state.email);
  const sentAt = Date.now();
  await form.getByRole('button', { name: /Submit|Continue/ }).first().click();
  await form.getByLabel(/Recovery code|Verification code|code/i).first().waitFor();
  const code = await mailedCode(join(dataDir, 'mail'), state.email, sentAt);
  await form.getByLabel(/Recovery code|code/i).first().fill(code);
  await shot('10-recovery');
  await form.getByRole('button', { name: /Submit|Continue/ }).first().click();
  // A correct code signs the person in and opens the account screen.
  await page.waitForURL(/\/settings\?.*flow=/);
  const pw = page.getByTestId('settings-password');
  state.password = 'a-brand-new-password-99';
  await pw.getByLabel('Password').fill(state.password);
  await pw.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Your changes have been saved.').first().waitFor();
  await shot('10-account-settings');

  // And out again, so step 11 signs in with the new password.
  const out = await api('POST', '/logout');
  expect(out.status === 204, `logout: ${out.status}`);
}

/** mailedCode waits for a mail to `to` written after `since` and returns its 6-digit code. */
async function mailedCode(dir, to, since) {
  const suffix = '-' + to.toLowerCase().replace(/[^a-zA-Z0-9@._+-]+/g, '_') + '.eml';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(suffix)).sort();
    } catch {}
    for (const n of names.reverse()) {
      const raw = readFileSync(join(dir, n), 'utf8').replace(/=\r?\n/g, '');
      const stamp = Date.parse(n.slice(0, 4) + '-' + n.slice(4, 6) + '-' + n.slice(6, 8) + 'T' + n.slice(9, 11) + ':' + n.slice(11, 13) + ':' + n.slice(13, 15) + 'Z');
      if (stamp + 1000 < since) break;
      const m = /\b(\d{6})\b/.exec(raw.split(/\r?\n\r?\n/).slice(1).join('\n'));
      if (m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no recovery code mailed to ${to} within 30s (looked in ${dir})`);
}
