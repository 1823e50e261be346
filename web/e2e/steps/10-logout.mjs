// Log out from the user menu: the session ends, and the company's pages send
// the browser to sign in again. Then "forgot your password": the recovery code
// arrives by (dev) mail, and a new password is set on the account screen.
export default async function ({ page, state, shot, api, expect, mailedCode }) {
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
  const code = await mailedCode(state.email, /recover/i, sentAt);
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
