import { describe, expect, it } from 'vitest';
import { theme } from './theme';

// WCAG 2 relative luminance and contrast ratio.
function luminance(hex: string): number {
  const c = hex.replace('#', '').match(/../g)!.map((x) => parseInt(x, 16) / 255);
  const [r, g, b] = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};

describe('theme', () => {
  it('keeps text and links at AA contrast (4.5:1) on white and on the page background', () => {
    const t = theme.token!;
    for (const key of ['colorPrimary', 'colorLink', 'colorLinkHover', 'colorLinkActive', 'colorError', 'colorTextSecondary', 'colorTextTertiary', 'colorTextDescription', 'colorTextPlaceholder', 'colorTextQuaternary'] as const) {
      const colour = t[key] as string;
      expect(contrast(colour, '#ffffff'), key).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colour, '#f6f7f9'), key).toBeGreaterThanOrEqual(4.5);
    }
    // White text on the primary colour (buttons, the brand mark).
    expect(contrast('#ffffff', t.colorPrimary as string)).toBeGreaterThanOrEqual(4.5);
  });
});

describe('dark theme', () => {
  it('keeps text and links at AA contrast on the dark container and page', async () => {
    const { darkTheme } = await import('./theme');
    const t = darkTheme.token!;
    for (const key of ['colorText', 'colorLink', 'colorLinkHover', 'colorLinkActive', 'colorError', 'colorTextSecondary', 'colorTextTertiary', 'colorTextDescription', 'colorTextPlaceholder', 'colorTextQuaternary'] as const) {
      const colour = t[key] as string;
      expect(contrast(colour, t.colorBgContainer as string), key).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colour, t.colorBgLayout as string), key).toBeGreaterThanOrEqual(4.5);
      expect(contrast(colour, t.colorBgElevated as string), key).toBeGreaterThanOrEqual(4.5);
    }
    expect(contrast('#ffffff', t.colorPrimary as string)).toBeGreaterThanOrEqual(4.5);
  });
});
