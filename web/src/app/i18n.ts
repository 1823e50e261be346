// i18next in English and Simplified Chinese. Each feature registers its own
// namespace with registerLocales(ns, {en, zh}) when its module loads, so a
// lazily loaded screen brings its own text. The choice is remembered per user
// (localStorage keyed by identity, falling back to the browser's language).
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { common } from './locales/common';

export type Lang = 'en' | 'zh';
export const LANGS: { key: Lang; label: string }[] = [
  { key: 'en', label: 'English' },
  { key: 'zh', label: '简体中文' },
];

const STORAGE = 'clientele.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE);
  if (saved === 'en' || saved === 'zh') return saved;
  return navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

i18n.use(initReactI18next).init({
  lng: initialLang(),
  fallbackLng: 'en',
  defaultNS: 'common',
  ns: ['common'],
  resources: { en: { common: common.en }, zh: { common: common.zh } },
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});
dayjs.locale(i18n.language === 'zh' ? 'zh-cn' : 'en');

export type Messages = Record<string, unknown>;

/** registerLocales adds a feature's texts; call it at the top level of the feature's module. */
export function registerLocales(ns: string, msgs: { en: Messages; zh: Messages }) {
  i18n.addResourceBundle('en', ns, msgs.en, true, true);
  i18n.addResourceBundle('zh', ns, msgs.zh, true, true);
}

/** setLang switches the language and remembers it for this user. */
export function setLang(lang: Lang, identityId?: string) {
  localStorage.setItem(STORAGE, lang);
  if (identityId) localStorage.setItem(`${STORAGE}.${identityId}`, lang);
  dayjs.locale(lang === 'zh' ? 'zh-cn' : 'en');
  void i18n.changeLanguage(lang);
}

/** restoreLang applies the language this user chose last time, if any. */
export function restoreLang(identityId: string) {
  const saved = localStorage.getItem(`${STORAGE}.${identityId}`);
  if ((saved === 'en' || saved === 'zh') && saved !== i18n.language) setLang(saved, identityId);
}

export default i18n;

/**
 * applyCompanyDefault shows a company's default language (settings: "en" or
 * "zh-CN") to a member who has chosen none, neither as themselves nor on this
 * device (the sign-in screen's switch). It is not remembered as their choice.
 */
export function applyCompanyDefault(identityId: string, companyLocale: string | undefined) {
  if (!companyLocale || localStorage.getItem(`${STORAGE}.${identityId}`) || localStorage.getItem(STORAGE)) return;
  const lang: Lang = companyLocale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
  if (lang === i18n.language) return;
  dayjs.locale(lang === 'zh' ? 'zh-cn' : 'en');
  void i18n.changeLanguage(lang);
}
