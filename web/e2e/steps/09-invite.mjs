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
}
