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
  await page.getByText(/Your changes have been saved/).first().waitFor();
  await shot('10-account-settings');

  // And out again, so step 11 signs in with the new password.
  const out = await api('POST', '/logout');
  expect(out.status === 204, `logout: ${out.status}`);
}

/** mailedCode waits for a recovery mail to `to` written after `since` and returns its code. */
async function mailedCode(dir, to, since) {
  const suffix = '-' + to.toLowerCase().replace(/[^a-zA-Z0-9@._+-]+/g, '_') + '.eml';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(suffix)).sort().reverse();
    } catch {}
    for (const n of names) {
      const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/.exec(n);
      if (m && Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + 1000 < since) break;
      const raw = readFileSync(join(dir, n), 'utf8');
      if (!/^Subject: .*recover/im.test(raw)) continue; // not the verification mail
      const code = /^(\d{6})\s*$/m.exec(raw.replace(/=\r?\n/g, ''));
      if (code) return code[1];
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no recovery code mailed to ${to} within 30s (looked in ${dir})`);
}
