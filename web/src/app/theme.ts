import { theme as antdTheme, type ThemeConfig } from 'antd';

const fontFamily =
  "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif";

// Colours chosen for WCAG AA contrast on white: antd's defaults for secondary,
// description and placeholder text (45% and 25% black) fall below 4.5:1.
export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#1f4fd6',
    colorLink: '#1f4fd6',
    colorLinkHover: '#1a43b8', // antd derives a lighter hover; keep it at AA
    colorLinkActive: '#163a9e',
    colorTextSecondary: '#555b66', // 7.0:1
    colorTextTertiary: '#5c6370', // 6.1:1
    colorTextDescription: '#5c6370',
    colorTextPlaceholder: '#6b7280', // 4.8:1
    colorTextQuaternary: '#6b7280',
    colorError: '#cf1322', // danger buttons and error text: 5.6:1 (antd's #ff4d4f is 3.3:1)
    borderRadius: 6,
    fontFamily,
  },
};

// The dark theme: antd's dark algorithm with the same AA rule, measured against
// the dark container (#181b21) and page (#0f1115). The primary is lighter so that
// links read on dark surfaces; buttons keep white text on a darker fill.
export const darkTheme: ThemeConfig = {
  algorithm: antdTheme.darkAlgorithm,
  token: {
    colorPrimary: '#3b6cf0', // white text on it: 4.6:1
    colorLink: '#8fb0ff', // 7.6:1 on the container
    colorLinkHover: '#b3c8ff', // antd's derived dark hover (#4b5a7e) is 2.8:1
    colorLinkActive: '#c7d6ff',
    colorBgContainer: '#181b21',
    colorBgElevated: '#20242c',
    colorBgLayout: '#0f1115',
    colorBorder: '#3a404b',
    colorBorderSecondary: '#2c313a',
    colorText: '#e6e8ec',
    colorTextHeading: '#f1f3f6',
    colorTextSecondary: '#b4bac5',
    colorTextTertiary: '#a3aab6',
    colorTextDescription: '#a3aab6',
    colorTextPlaceholder: '#9aa1ad',
    colorTextQuaternary: '#9aa1ad',
    colorTextDisabled: '#8b919c',
    colorError: '#ff7b7b', // 6.9:1 on the container
    borderRadius: 6,
    fontFamily,
  },
  components: {
    // The selected menu entry: light text on a deep blue (9.7:1), not the primary on its tint.
    Menu: { itemSelectedColor: '#c7d6ff', subMenuItemSelectedColor: '#c7d6ff', itemSelectedBg: '#1d2a4d', itemColor: '#e6e8ec', itemHoverColor: '#ffffff' },
  },
};

export type ThemeMode = 'system' | 'light' | 'dark';
const STORAGE = 'clientele.theme';

/** themeMode is the person's choice on this device; "system" follows prefers-color-scheme. */
export function themeMode(): ThemeMode {
  const v = typeof localStorage !== 'undefined' ? localStorage.getItem(STORAGE) : null;
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function systemDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

/** resolveDark says whether a mode shows the dark theme now. */
export function resolveDark(mode: ThemeMode): boolean {
  return mode === 'dark' || (mode === 'system' && systemDark());
}

const listeners = new Set<() => void>();

/** setThemeMode remembers the choice and applies it at once (html[data-theme]). */
export function setThemeMode(mode: ThemeMode) {
  if (mode === 'system') localStorage.removeItem(STORAGE);
  else localStorage.setItem(STORAGE, mode);
  applyTheme();
}

/** applyTheme marks <html> with the theme in effect, for the app's own CSS colours. */
export function applyTheme() {
  const dark = resolveDark(themeMode());
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', dark ? '#0f1115' : '#1f4fd6');
  listeners.forEach((l) => l());
}

/** onThemeChange calls back when the choice or the system setting changes. */
export function onThemeChange(cb: () => void): () => void {
  listeners.add(cb);
  const mq = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  const sys = () => themeMode() === 'system' && applyTheme();
  mq?.addEventListener('change', sys);
  return () => {
    listeners.delete(cb);
    mq?.removeEventListener('change', sys);
  };
}
