import { afterEach, describe, expect, it } from 'vitest';
import i18n, { applyCompanyDefault, restoreLang, setLang } from './i18n';

afterEach(() => {
  localStorage.clear();
  void i18n.changeLanguage('en');
});

describe('language', () => {
  it('is remembered per user, and restored for that user only', () => {
    setLang('zh', 'user-a');
    expect(i18n.language).toBe('zh');
    void i18n.changeLanguage('en');
    restoreLang('user-b');
    expect(i18n.language).toBe('en');
    restoreLang('user-a');
    expect(i18n.language).toBe('zh');
  });

  it("follows the company's default until the member picks one", () => {
    applyCompanyDefault('user-c', 'zh-CN');
    expect(i18n.language).toBe('zh');
    expect(localStorage.getItem('clientele.lang.user-c')).toBeNull(); // not their choice
    setLang('en', 'user-c');
    applyCompanyDefault('user-c', 'zh-CN');
    expect(i18n.language).toBe('en');
  });

  it('leaves a language picked on this device (the sign-in screen) alone', () => {
    setLang('zh'); // no user yet
    applyCompanyDefault('user-d', 'en');
    expect(i18n.language).toBe('zh');
  });
});
