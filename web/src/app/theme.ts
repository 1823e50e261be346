import type { ThemeConfig } from 'antd';

// Colours chosen for WCAG AA contrast on white: antd's defaults for secondary,
// description and placeholder text (45% and 25% black) fall below 4.5:1.
export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#1f4fd6',
    colorLink: '#1f4fd6',
    colorTextSecondary: '#555b66', // 7.0:1
    colorTextTertiary: '#5c6370', // 6.1:1
    colorTextDescription: '#5c6370',
    colorTextPlaceholder: '#6b7280', // 4.8:1
    colorTextQuaternary: '#6b7280',
    borderRadius: 6,
    fontFamily:
      "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif",
  },
};
