// Invite a member by email and role; the invitation is listed as pending, and
// an invalid address is refused next to its field.
export default async function ({ page, baseURL, state, shot, api, expect, mail }) {
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

  // A custom role from permission checkboxes.
  await page.goto(`/t/${state.slug}/roles`);
  await page.getByRole('button', { name: 'New role' }).click();
  const roleDialog = page.getByRole('dialog');
  await roleDialog.getByLabel('Name', { exact: true }).fill('Auditor 审计员');
  await roleDialog.getByLabel('Key', { exact: true }).fill('auditor');
  await roleDialog.getByLabel('Read the audit log').check();
  await roleDialog.getByRole('radio', { name: 'All records' }).check();
  await page.waitForTimeout(400); // let the checkbox animations settle for the picture
  await shot('09-roles');
  await roleDialog.getByRole('button', { name: 'OK' }).click();
  await page.getByRole('cell', { name: 'Auditor 审计员' }).waitFor();
  const roles = await api('GET', `/t/${state.slug}/roles`);
  const auditor = roles.body.items.find((r) => r.key === 'auditor');
  expect(auditor && auditor.permissions.join() === 'audit.read' && auditor.scope === 'all', `the custom role holds what was ticked: ${JSON.stringify(auditor)}`);

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

  // The invited person, in a browser of their own: the mailed link and code set a
  // password, the invitation is accepted, and an agent sees no administration.
  const text = await mail(state.invitee, /Invitation/);
  const link = /https?:\/\/\S+\/recovery\?flow=[0-9a-f-]+/.exec(text)?.[0];
  const code = /code (\d{6})/.exec(text)?.[1];
  expect(link && code, `the invitation mail holds a link and a code: ${text.slice(0, 400)}`);
  const other = await page.context().browser().newContext({ baseURL, viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
  try {
    const p2 = await other.newPage();
    p2.setDefaultTimeout(20_000);
    await p2.goto(link);
    const rf = p2.getByTestId('recovery-form');
    await rf.getByLabel(/code/i).first().fill(code);
    await rf.getByRole('button', { name: 'Continue' }).click();
    await p2.waitForURL(/\/settings\?.*flow=/);
    const pw = p2.getByTestId('settings-password');
    await pw.getByLabel('Password').fill('agent-password-2026');
    await pw.getByRole('button', { name: 'Save' }).click();
    await p2.getByText(/Your changes have been saved/).first().waitFor();
    await p2.goto('/');
    await p2.waitForURL(/\/welcome$/);
    await p2.getByRole('button', { name: 'Accept' }).click();
    await p2.waitForURL(new RegExp(`/t/${state.slug}$`));
    const nav = p2.getByTestId('main-nav');
    await nav.getByText('Members', { exact: true }).waitFor();
    for (const hidden of ['API keys', 'Audit log', 'Roles', 'Custom fields']) {
      expect((await nav.getByText(hidden, { exact: true }).count()) === 0, `an agent's menu shows ${hidden}`);
    }
    await p2.goto(`/t/${state.slug}/members`);
    await p2.getByRole('cell', { name: /Zhang Min/ }).first().waitFor();
    expect((await p2.getByTestId('invite-open').count()) === 0, 'an agent is offered to invite');
    await shot('09-agent-view', p2);
  } finally {
    await other.close();
  }
}
