// The keyboard alone, in a browser of its own that never sees a mouse event:
// sign in, open the customers through the menu, search for 张伟, open the
// profile, add a task and log a call. On the way: the skip link is the first
// stop and jumps to the content, focus is always visible, and the "new
// customer" sheet traps focus and gives it back to its button when it closes.
// Every pointer event the page receives is counted; the count must stay 0.
export default async function ({ page, baseURL, state, api, expect, log }) {
  const ctx = await page.context().browser().newContext({ baseURL, viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
  await ctx.addInitScript(() => {
    const n = () => Number(sessionStorage.getItem('pointerEvents') ?? 0);
    for (const type of ['mousedown', 'mouseup', 'mousemove', 'pointerdown', 'pointerup', 'pointermove', 'touchstart', 'wheel', 'contextmenu', 'dblclick']) {
      window.addEventListener(type, (e) => e.isTrusted && sessionStorage.setItem('pointerEvents', String(n() + 1)), true);
    }
  });
  const p = await ctx.newPage();
  p.setDefaultTimeout(20_000);
  const kb = p.keyboard;
  const active = () =>
    p.evaluate(() => {
      const el = document.activeElement;
      const label = el?.getAttribute('aria-label') || (el?.labels && el.labels[0]?.textContent) || el?.textContent || '';
      const st = el ? getComputedStyle(el) : null;
      return {
        tag: el?.tagName.toLowerCase(),
        testid: el?.closest('[data-testid]')?.getAttribute('data-testid') ?? '',
        ownTestid: el?.getAttribute('data-testid') ?? '',
        label: label.trim().replace(/\s+/g, ' ').slice(0, 60),
        href: el?.getAttribute('href') ?? '',
        visibleFocus: !!st && ((st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || (st.boxShadow && st.boxShadow !== 'none')),
      };
    });
  /** tabTo presses Tab until the focused element matches, and says how many presses it took. */
  const tabTo = async (what, match, max = 60) => {
    for (let i = 1; i <= max; i++) {
      await kb.press('Tab');
      const a = await active();
      if (match(a)) {
        expect(a.visibleFocus, `${what}: the focused ${a.tag} "${a.label}" shows no focus indicator`);
        return i;
      }
    }
    throw new Error(`${what}: not reached within ${max} Tab presses (last: ${JSON.stringify(await active())})`);
  };

  try {
    // Sign in.
    await p.goto('/login');
    const form = p.getByTestId('login-form');
    await form.waitFor();
    await tabTo('the email field', (a) => a.tag === 'input' && /email/i.test(a.label));
    await kb.type(state.email);
    await kb.press('Tab');
    await kb.type(state.password);
    await kb.press('Enter');
    await p.waitForURL(new RegExp(`/t/${state.slug}$`));
    await p.getByTestId('overview').waitFor();

    // The skip link is the first stop, and it moves focus to the content.
    await p.evaluate(() => document.activeElement?.blur());
    await kb.press('Tab');
    const first = await active();
    expect(/Skip to content/.test(first.label), `the first Tab stop is the skip link, not ${JSON.stringify(first)}`);
    await kb.press('Enter');
    expect((await p.evaluate(() => document.activeElement?.id)) === 'main', 'the skip link moves focus to the main content');

    // To the customers through the menu.
    await p.evaluate(() => document.activeElement?.blur());
    await tabTo('the Customers menu entry', (a) => a.tag === 'a' && a.href.endsWith('/customers'));
    await kb.press('Enter');
    await p.getByRole('heading', { name: 'Customers', exact: true }).waitFor();

    // The new-customer sheet keeps focus inside and gives it back on Escape.
    await tabTo('the New customer button', (a) => a.ownTestid === 'new-customer');
    await kb.press('Enter');
    const sheet = p.getByRole('dialog');
    await sheet.waitFor();
    await p.waitForTimeout(400);
    for (let i = 0; i < 25; i++) {
      await kb.press('Tab');
      const inside = await p.evaluate(() => !!document.activeElement?.closest('[role=dialog], .ant-drawer-content'));
      expect(inside, `Tab ${i + 1} left the open sheet for ${JSON.stringify(await active())}`);
    }
    await kb.press('Escape');
    await sheet.waitFor({ state: 'hidden' });
    await p.waitForTimeout(300);
    const back = await active();
    expect(back.ownTestid === 'new-customer', `closing the sheet returns focus to its button, not ${JSON.stringify(back)}`);

    // Search.
    await tabTo('the search box', (a) => a.tag === 'input' && /Search customers/.test(a.label));
    await kb.type('张');
    await kb.press('Enter');
    await p.waitForURL((u) => u.searchParams.get('q') === '张');
    await p.getByTestId('customer-table').getByRole('link', { name: state.customerName }).waitFor();
    await tabTo(`the link to ${state.customerName}`, (a) => a.tag === 'a' && a.label === state.customerName);
    await kb.press('Enter');
    await p.getByTestId('customer-name').filter({ hasText: state.customerName }).waitFor();

    // A task.
    const taskTitle = `Keyboard task ${Date.now()}`;
    await tabTo('the task field', (a) => a.tag === 'input' && a.testid === 'task-form' && /Task/.test(a.label));
    await kb.type(taskTitle);
    await kb.press('Enter');
    await p.getByText(taskTitle, { exact: true }).waitFor();

    // A call: the composer's kind is a call already; summary, then its button.
    const callSummary = `Keyboard call ${Date.now()}`;
    await tabTo('the call summary', (a) => a.tag === 'input' && a.testid === 'interaction-form' && /Summary/.test(a.label));
    await kb.type(callSummary);
    await tabTo('the Add button of the timeline', (a) => a.ownTestid === 'add-interaction');
    await kb.press('Enter');
    await p.getByTestId('interaction').filter({ hasText: callSummary }).waitFor();

    const tasks = await api('GET', `/t/${state.slug}/tasks?customer_id=${state.customerId}&status=open&limit=100`);
    expect(tasks.body.items?.some((x) => x.title === taskTitle), `the task is stored: ${JSON.stringify(tasks.body).slice(0, 300)}`);
    const calls = await api('GET', `/t/${state.slug}/customers/${state.customerId}/interactions?kind=call&limit=50`);
    expect(calls.body.items?.some((x) => x.summary === callSummary && x.kind === 'call'), `the call is stored: ${JSON.stringify(calls.body).slice(0, 300)}`);
    const pointer = await p.evaluate(() => Number(sessionStorage.getItem('pointerEvents') ?? 0));
    expect(pointer === 0, `${pointer} pointer events reached the page during the keyboard journey`);
    log('signed in, searched, added a task and logged a call with the keyboard alone; 0 pointer events');
  } finally {
    await ctx.close();
  }
}
