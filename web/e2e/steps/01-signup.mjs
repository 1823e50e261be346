// Sign up through the Kratos registration flow in the browser; the new person
// lands on the company wizard, signed in.
export default async function ({ page, state, shot, expect, mailedCode }) {
  state.email = `owner+${Date.now()}@acme.example`;
  state.password = 'correct-horse-battery-42';
  state.name = 'Li Wei 李伟';

  await page.goto('/');
  // Signed out: the start page sends us to sign in, which links to sign-up.
  await page.waitForURL(/\/login/);
  await page.getByTestId('to-registration').click();
  await page.waitForURL(/\/registration\?.*flow=/);
  const form = page.getByTestId('registration-form');
  await form.getByLabel('Email').fill(state.email);
  await form.getByLabel('Full name').fill(state.name);
  // A too-short password comes back from Kratos with its message under the field.
  await form.getByLabel('Password').fill('short');
  await form.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(/at least 8 characters/i).waitFor();
  await shot('01-signup');
  await form.getByLabel('Password').fill(state.password);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL(/\/welcome$/);
  await page.getByRole('heading', { name: 'Create your company' }).waitFor();
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
  expect(me.identity?.email === state.email, `GET /me says ${JSON.stringify(me.identity)}, want ${state.email}`);
  expect(me.memberships.length === 0, 'a new person should belong to no company yet');

  // Kratos mailed a verification code; the wizard links to the screen to enter it.
  await page.getByRole('link', { name: 'Verify now' }).click();
  await page.waitForURL(/\/verification\?.*flow=/);
  const code = await mailedCode(state.email, /verify/i);
  const vf = page.getByTestId('verification-form');
  await vf.getByLabel(/code/i).first().fill(code);
  await vf.getByRole('button', { name: /Continue|Submit|Verify/ }).first().click();
  await page.getByText('Your email address is verified.').waitFor();
  await page.getByRole('link', { name: 'Continue to Clientele' }).click();
  await page.waitForURL(/\/welcome$/);
}
