// Invite a member by email and role; the invitation is listed as pending, and
// an invalid address is refused next to its field.
export default async function ({ page, state, shot, api, expect }) {
  state.invitee = `agent+${Date.now()}@acme.example`;
  await page.goto(`/t/${state.slug}/members`);
  await page.getByTestId('members-page').waitFor();
  await page.getByRole('cell', { name: new RegExp(state.email.replace(/[+.]/g, '\\$&')) }).waitFor();
  await page.getByTestId('invite-open').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Email').fill('not-an-address');
  await page.getByTestId('invite-send').click();
  await dialog.getByText('This is not an email address').waitFor();
  await dialog.getByLabel('Email').fill(state.invitee);
  await dialog.getByLabel('Name (optional)').fill('Zhang Min 张敏');
  await page.getByTestId('invite-send').click();
  await dialog.waitFor({ state: 'hidden' });
  const pending = page.getByTestId('pending-invitations');
  await pending.getByRole('cell', { name: state.invitee }).waitFor();
  await shot('09-members');

  const inv = await api('GET', `/t/${state.slug}/invitations`);
  expect(inv.status === 200, `invitations: ${inv.status}`);
  const mine = inv.body.items.find((i) => i.email === state.invitee);
  expect(mine && mine.role === 'agent' && mine.status === 'pending', `the invitation is pending as agent: ${JSON.stringify(mine)}`);

  // The other administration screens an owner uses.
  await page.goto(`/t/${state.slug}/api-keys`);
  await page.getByTestId('key-create').click();
  const keyDialog = page.getByRole('dialog');
  await keyDialog.getByLabel('Name').fill('Website form');
  await keyDialog.getByRole('button', { name: 'OK' }).click();
  const secret = await page.getByTestId('key-secret').inputValue();
  expect(/^ck_/.test(secret), `the new key is shown once: ${secret.slice(0, 6)}`);
  await shot('09-api-key');
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('cell', { name: 'Website form' }).waitFor();
  const who = await fetch(`${page.url().split('/t/')[0]}/api/v1/t/${state.slug}/me`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(who.status === 200, `the shown key works: ${who.status}`);

  await page.goto(`/t/${state.slug}/audit`);
  await page.getByRole('cell', { name: 'invitation.create' }).first().waitFor();
  await shot('09-audit');

  await page.goto(`/t/${state.slug}/settings`);
  await page.getByTestId('settings-page').waitFor();
  await page.getByLabel('Company name').fill('');
  await page.getByTestId('settings-save').click();
  await page.locator('.ant-form-item-explain-error').first().waitFor();
  await page.getByLabel('Company name').fill(state.tenantName);
  await page.getByTestId('settings-save').click();
  await page.getByText('Settings saved').waitFor();
  await shot('09-settings');
}
