// Repairs to Ant Design's markup that axe flags and antd offers no option for.
// The table's hidden measuring row (aria-hidden) copies the column titles, the
// "select all" checkbox included, so a keyboard could reach a control a screen
// reader is told does not exist: the row is made inert. A table that scrolls
// sideways inside its card (a phone) can be scrolled with the arrow keys: its
// scrolling box takes focus.
export function installAntdFixes() {
  const fix = () => {
    for (const row of document.querySelectorAll<HTMLElement>('.ant-table-measure-row:not([inert])')) row.inert = true;
    for (const box of document.querySelectorAll<HTMLElement>('.ant-table-content, .ant-table-body')) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && box.tabIndex < 0) box.tabIndex = 0;
      else if (!scrolls && box.getAttribute('tabindex') === '0') box.removeAttribute('tabindex');
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fix();
    });
  }).observe(document.body, { childList: true, subtree: true });
  window.addEventListener('resize', () => requestAnimationFrame(fix));
}
