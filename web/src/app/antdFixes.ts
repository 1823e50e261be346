// Repairs to Ant Design's markup that axe flags and antd offers no option for.
// The table's hidden measuring row (aria-hidden) copies the column titles, the
// "select all" checkbox included, so a keyboard could reach a control a screen
// reader is told does not exist: the row is made inert.
export function installAntdFixes() {
  const fix = () => {
    for (const row of document.querySelectorAll<HTMLElement>('.ant-table-measure-row:not([inert])')) row.inert = true;
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
}
