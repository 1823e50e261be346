import type { ThemeConfig } from 'antd';

// Colours chosen for WCAG AA contrast on white.
export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#1f4fd6',
    colorLink: '#1f4fd6',
    colorTextSecondary: '#555b66',
    borderRadius: 6,
    fontFamily:
      "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif",
  },
};
