// useFormat formats for the current company and language. Use it in any screen
// under /t/:tenant:
//
//   const f = useFormat();
//   f.dateTime(row.created_at); f.money('1200.50'); f.number(12345);
import { useMemo, useContext } from 'react';
import { useTranslation } from 'react-i18next';
import { TenantContext } from './session';
import { useTenantSettings } from './tenantSettings';
import {
  defaultFormat,
  formatDate,
  formatDateTime,
  formatDay,
  formatMoney,
  formatNumber,
  formatRelative,
  localeFor,
  type FormatSettings,
} from './format';

export interface Formatter {
  settings: FormatSettings;
  dateTime: (v: string | number | Date | null | undefined) => string;
  date: (v: string | number | Date | null | undefined) => string;
  day: (v: string | null | undefined, opts?: Intl.DateTimeFormatOptions) => string;
  number: (n: number | string | null | undefined, maxFraction?: number) => string;
  money: (amount: number | string | null | undefined, currency?: string) => string;
  relative: (v: string | number | Date | null | undefined) => string;
}

export function makeFormatter(s: FormatSettings): Formatter {
  return {
    settings: s,
    dateTime: (v) => formatDateTime(s, v),
    date: (v) => formatDate(s, v),
    day: (v, o) => formatDay(s, v, o),
    number: (n, m) => formatNumber(s, n, m),
    money: (a, c) => formatMoney(s, a, c),
    relative: (v) => formatRelative(s, v),
  };
}

export function useFormat(): Formatter {
  const { i18n } = useTranslation();
  const tenant = useContext(TenantContext);
  const settings = useTenantSettings(tenant?.slug).data;
  return useMemo(() => {
    const browserTZ = Intl.DateTimeFormat().resolvedOptions().timeZone || defaultFormat.timeZone;
    return makeFormatter({
      locale: localeFor(i18n.language, settings?.locale),
      timeZone: settings?.time_zone || browserTZ,
      currency: settings?.currency || defaultFormat.currency,
    });
  }, [i18n.language, settings?.locale, settings?.time_zone, settings?.currency]);
}
