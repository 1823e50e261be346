// Log out from the user menu: the session ends, and the company's pages send
// the browser to sign in again.
export default async function ({ page, state, shot, api, expect }) {
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
}
