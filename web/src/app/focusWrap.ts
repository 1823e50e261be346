// Tab and Shift+Tab cycle inside the open dialog or sheet. Ant Design's own lock
// pulls focus back only once it has landed outside; from a dialog's last field
// the browser's Tab would first leave the page (to the address bar), since dialogs
// are the last thing in the document. This wraps from the last control to the
// first and back, so the keyboard never leaves an open dialog. When a dialog
// closes and leaves focus nowhere (a screen that unmounts its sheet on close
// takes antd's own return with it), focus goes back to the control that opened it.
const TABBABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]';

function visible(el: Element): boolean {
  const h = el as HTMLElement;
  if (!h.getClientRects().length) return false;
  const st = getComputedStyle(h);
  return st.visibility !== 'hidden' && st.display !== 'none';
}

function topDialog(): HTMLElement | null {
  const open = [...document.querySelectorAll<HTMLElement>('[role="dialog"][aria-modal="true"], .ant-drawer-content-wrapper [role="dialog"], .ant-modal-wrap [role="dialog"]')].filter(visible);
  return open.at(-1) ?? null;
}

const inDialog = (el: Element | null) => !!el?.closest('[role="dialog"], .ant-drawer-content-wrapper, .ant-modal-wrap');

export function installFocusWrap() {
  let lastOutside: HTMLElement | null = null;
  let returnTo: HTMLElement | null = null;
  document.addEventListener('focusin', (e) => {
    const el = e.target as HTMLElement;
    if (inDialog(el)) {
      if (!returnTo && lastOutside?.isConnected) returnTo = lastOutside;
    } else if (el !== document.body) {
      lastOutside = el;
      returnTo = null;
    }
  });
  let queued = false;
  const check = () => {
    queued = false;
    if (!returnTo || topDialog()) return;
    const a = document.activeElement;
    if ((!a || a === document.body) && returnTo.isConnected) returnTo.focus();
    returnTo = null;
  };
  new MutationObserver(() => {
    if (returnTo && !queued) {
      queued = true;
      setTimeout(check, 50);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['style', 'class'] });

  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key !== 'Tab' || e.defaultPrevented) return;
      const dialog = topDialog();
      if (!dialog) return;
      const items = [...dialog.querySelectorAll<HTMLElement>(TABBABLE)].filter((el) => el.tabIndex >= 0 && visible(el));
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      const active = document.activeElement as HTMLElement | null;
      const inside = !!active && dialog.contains(active);
      if (!inside || (!e.shiftKey && active === last)) {
        e.preventDefault();
        (e.shiftKey && !inside ? last : first).focus();
      } else if (e.shiftKey && active === first) {
        e.preventDefault();
        last.focus();
      }
    },
    true,
  );
}
