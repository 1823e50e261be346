// The deals board (issue 16): a new pipeline made in the app's Pipelines
// drawer, three deals in its first stage;
// one is dragged with the mouse across two columns, one is marked lost with a
// reason, and the columns' counts and totals follow each move without a
// reload, agreeing with the API's board. Screenshots of the board, its
// forecast and the pipelines drawer in both languages; axe and the phone
// width judge the filled board in both.
import { axeCheck, noSideScroll } from '../a11y.mjs';

export default async function ({ page, state, shot, api, expect, log }) {
  const t = `/t/${state.slug}`;
  // Whatever the steps before left: online, desktop size, English.
  await page.context().setOffline(false);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(t);
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);
  await setLang('en');
  // The pipeline is made in the app: the board's Pipelines drawer, which
  // shows its default stages and switches the board to it.
  await page.goto(`${t}/deals`);
  await page.getByTestId('open-pipelines').click();
  const made = page.getByTestId('pipeline-new');
  await made.getByLabel('Name (English)').fill('Channel partners');
  await made.getByLabel('Name (Chinese)').fill('渠道伙伴');
  await made.getByRole('button', { name: 'Create pipeline' }).click();
  await page.getByTestId('stages-table').getByText('Negotiation').waitFor();
  await page.waitForURL(/pipeline=/);
  await page.waitForTimeout(400);
  await shot('16-pipelines-en');
  await page.keyboard.press('Escape');
  let r = await api('GET', `${t}/pipelines`);
  const pipeline = r.body.items.find((p) => p.name_en === 'Channel partners');
  expect(pipeline && pipeline.stages.length === 6, `the pipeline made in the drawer: ${JSON.stringify(r.body).slice(0, 300)}`);
  const stage = (en) => pipeline.stages.find((s) => s.name_en === en).id;
  r = await api('POST', `${t}/customers`, { name: 'Board Demo 看板演示' });
  expect(r.status === 201, `create a customer: ${r.status}`);
  const customer = r.body.id;
  const deals = {};
  // They close this month (the stack's clock is Asia/Shanghai), so the
  // forecast below the board has figures.
  const now = new Date(Date.now() + 8 * 3600_000);
  const monthEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
  for (const [title, amount] of [['Alpha 阿尔法', '1000'], ['Beta 贝塔', '2000'], ['Gamma 伽马', '3000']]) {
    r = await api('POST', `${t}/deals`, { title, customer_id: customer, amount, pipeline_id: pipeline.id, tags: ['partner'], expected_close: monthEnd });
    expect(r.status === 201, `create deal ${title}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    deals[title] = r.body;
  }

  await page.goto(`${t}/deals`);
  await page.getByTestId('board-pipeline').click();
  await page.getByTitle('Channel partners').click();
  await page.waitForURL(new RegExp(`pipeline=${pipeline.id}`));
  const column = (en) => page.getByTestId(`column-${stage(en)}`);
  const count = async (en) => (await column(en).getByTestId('column-count').textContent()).trim();
  const waitCount = async (en, want) => {
    for (let i = 0; i < 50; i++) {
      if ((await count(en)) === want) return;
      await page.waitForTimeout(100);
    }
    throw new Error(`column ${en} shows "${await count(en)}", want "${want}"`);
  };
  await waitCount('Lead', '3 deals');

  // The totals, as the board shows them once the server's figures are back
  // (the counts move at once, the sums with the refetch), and as the API
  // computes them.
  const totals = async (en) => (await column(en).getByTestId('column-total').allTextContents()).join(' | ');
  const waitTotals = async (en, re) => {
    for (let i = 0; i < 50; i++) {
      if (re.test(await totals(en))) return;
      await page.waitForTimeout(100);
    }
    throw new Error(`column ${en} totals "${await totals(en)}", want ${re}`);
  };
  // Drag Alpha by the mouse: Lead -> Qualified -> Proposal. Each move's
  // figures come back from the server before the next drag.
  const drag = async (title, toStage) => {
    const card = page.getByTestId('deal-card').filter({ hasText: title });
    const from = await card.boundingBox();
    const to = await column(toStage).boundingBox();
    await page.mouse.move(from.x + from.width / 2, from.y + 12);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2 + 10, from.y + 16, { steps: 3 });
    await page.mouse.move(to.x + to.width / 2, to.y + to.height - 30, { steps: 12 });
    await page.waitForTimeout(150);
    await page.mouse.up();
  };
  await drag('Alpha', 'Qualified');
  await waitCount('Qualified', '1 deal');
  await waitCount('Lead', '2 deals');
  await waitTotals('Qualified', /^\D*1,000\.00 weighted \D*250\.00$/);
  await drag('Alpha', 'Proposal');
  await waitCount('Proposal', '1 deal');
  await waitCount('Qualified', '0 deals');

  // Beta is lost, for a reason.
  await page.getByTestId('deal-card').filter({ hasText: 'Beta' }).getByTestId('mark-lost').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Why was “Beta 贝塔” lost?').waitFor();
  await dialog.getByTestId('lost-reason').click();
  await page.getByTitle('Price too high').click();
  await dialog.locator('#confirm-lost').click();
  await waitCount('Lost', '1 deal');
  await waitCount('Lead', '1 deal');

  await waitTotals('Lead', /^\D*3,000\.00 weighted \D*300\.00$/);
  await waitTotals('Proposal', /^\D*1,000\.00 weighted \D*500\.00$/);
  await waitTotals('Lost', /^\D*2,000\.00 weighted \D*0\.00$/);
  log(`Lead: ${await totals('Lead')}; Proposal: ${await totals('Proposal')}; Lost: ${await totals('Lost')}`);
  r = await api('GET', `${t}/pipelines/${pipeline.id}/board`);
  const byStage = Object.fromEntries(r.body.columns.map((c) => [c.stage_id, c]));
  expect(byStage[stage('Lost')].count === 1 && byStage[stage('Proposal')].totals[0].amount === '1000.0000', `the API's board: ${JSON.stringify(r.body.columns).slice(0, 300)}`);
  r = await api('GET', `${t}/deals/${deals['Beta 贝塔'].id}`);
  expect(r.body.lost_at && r.body.lost_reason_id, `Beta is lost with a reason: ${JSON.stringify(r.body).slice(0, 200)}`);
  await page.waitForTimeout(3500); // the move notices fade
  await shot('16-board-en');
  await page.getByTestId('forecast-table').scrollIntoViewIfNeeded();
  await shot('16-forecast-en');
  await page.evaluate(() => window.scrollTo(0, 0));
  const judge = async (label) => {
    await axeCheck(page, `deals board (${label})`, log);
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(250);
    await noSideScroll(page, `deals board (${label}, 390×844)`);
    await page.setViewportSize(size);
  };
  await judge('en');

  // The same board in Chinese.
  await setLang('zh');
  await page.reload(); // the address keeps the pipeline
  await page.getByTestId('board-pipeline').getByText('渠道伙伴').waitFor();
  await page.getByTestId(`column-${stage('Lost')}`).getByText('输单').waitFor();
  expect((await count('Lost')) === '1 个商机', `the Lost column in Chinese: ${await count('Lost')}`);
  await shot('16-board-zh');
  await page.getByTestId('forecast-table').scrollIntoViewIfNeeded();
  await shot('16-forecast-zh');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByTestId('open-pipelines').click();
  await page.getByTestId('stages-table').getByText('谈判').first().waitFor();
  await page.waitForTimeout(400);
  await shot('16-pipelines-zh');
  await page.keyboard.press('Escape');
  await judge('zh');
  await setLang('en');
}
