// Import a CSV through the wizard: the suggested mapping is pre-filled (Chinese
// headers included), the progress reaches 100%, the counts are exact and the bad
// row is in the error report.
export default async function ({ page, state, shot, api, expect }) {
  const rows = ['姓名,邮箱,电话,等级'];
  for (let i = 1; i <= 40; i++) rows.push(`客户${i},buyer${i}@example.com,+86 137 0000 ${String(1000 + i)},${i % 2 ? 'gold' : 'silver'}`);
  rows.push('坏数据,not-an-email,,gold');
  const csv = Buffer.from(rows.join('\n') + '\n', 'utf8');
  await page.goto(`/t/${state.slug}/imports/new`);
  await page.getByText('Click or drag a CSV or XLSX file here').waitFor();
  await page.getByTestId('import-upload').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: csv });
  const table = page.getByTestId('mapping-table');
  await table.waitFor();
  for (const [col, label] of [['姓名', 'Name'], ['邮箱', 'Emails'], ['等级', 'Tier']]) {
    await table.getByRole('row', { name: new RegExp(col) }).getByText(label, { exact: true }).waitFor();
  }
  await shot('05-import-mapping');
  await page.getByTestId('import-next').click();
  await page.getByText('problems in the first rows').or(page.getByText('look good')).first().waitFor();
  await shot('05-import-check');
  await page.getByTestId('import-start').click();
  await page.getByTestId('import-progress').waitFor();
  await page.getByText('Completed').first().waitFor({ timeout: 90_000 });
  await page.getByTestId('import-report').waitFor();
  const bar = page.getByRole('progressbar').first();
  expect((await bar.getAttribute('aria-valuenow')) === '100', `the bar stands at ${await bar.getAttribute('aria-valuenow')}`);
  await shot('05-import-result');
  const id = page.url().split('/').pop();
  const v = await api('GET', `/t/${state.slug}/imports/${id}`);
  expect(v.body.status === 'completed' && v.body.progress === 1, `status ${v.body.status}, progress ${v.body.progress}`);
  expect(v.body.created === 40 && v.body.failed === 1 && v.body.processed === 41, `counts: ${JSON.stringify(v.body)}`);
  const report = await page.evaluate(async (u) => (await fetch(u)).text(), v.body.errors_url);
  expect(report.split('\n')[1]?.startsWith('42,邮箱,not-an-email,'), `the report names row 42: ${report}`);
  state.importId = id;
}
