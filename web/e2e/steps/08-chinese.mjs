// Switch the interface to 简体中文: navigation, headings and Ant Design's own
// texts change, and the choice survives a reload (remembered for this user).
export default async function ({ page, state, shot, expect }) {
  await page.goto(`/t/${state.slug}`);
  await page.getByTestId('overview').waitFor();
  await page.getByTestId('lang-switch').click();
  await page.getByRole('menuitem', { name: '简体中文' }).click();
  const nav = page.getByTestId('main-nav');
  await nav.getByText('客户', { exact: true }).waitFor();
  await nav.getByText('概览', { exact: true }).waitFor();
  await page.getByRole('heading', { name: '概览' }).waitFor();
  expect((await page.locator('html').getAttribute('lang')) === 'zh-CN', 'the document language follows the switch');

  await page.reload();
  await page.getByRole('heading', { name: '概览' }).waitFor();
  const remembered = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json();
    return localStorage.getItem(`clientele.lang.${me.identity.id}`);
  });
  expect(remembered === 'zh', `the choice is remembered for this user (got ${remembered})`);
  // The members screen in Chinese, Ant Design's table texts included.
  await page.goto(`/t/${state.slug}/members`);
  await page.getByRole('heading', { name: '成员' }).waitFor();
  await page.getByRole('columnheader', { name: '角色' }).first().waitFor();
  await page.getByText('没有待接受的邀请').waitFor();
  await page.getByRole('heading', { name: '概览' }).waitFor({ state: 'detached' });
  await page.goto(`/t/${state.slug}`);
  await page.getByRole('heading', { name: '概览' }).waitFor();
  await shot('08-chinese');

  await page.getByTestId('lang-switch').click();
  await page.getByRole('menuitem', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}
