// Time zone, language and currency fields, shared by the wizard and settings.
import { useMemo } from 'react';
import { Form, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { CURRENCIES, currencyLabel, timeZones } from './choices';

export default function RegionalFields({ disabled }: { disabled?: boolean }) {
  const { t, i18n } = useTranslation('tenants');
  const ui = i18n.language === 'zh' ? 'zh-CN' : 'en';
  const zones = useMemo(() => timeZones().map((z) => ({ value: z, label: z.replace(/_/g, ' ') })), []);
  const currencies = useMemo(() => CURRENCIES.map((c) => ({ value: c, label: currencyLabel(c, ui) })), [ui]);
  return (
    <>
      <Form.Item name="time_zone" label={t('settings.timeZone')} rules={[{ required: true, message: t('wizard.required') }]}>
        <Select showSearch options={zones} disabled={disabled} data-testid="field-time_zone" optionFilterProp="label" />
      </Form.Item>
      <Form.Item name="locale" label={t('settings.locale')} rules={[{ required: true, message: t('wizard.required') }]}>
        <Select
          disabled={disabled}
          options={[
            { value: 'en', label: t('locales.en') },
            { value: 'zh-CN', label: t('locales.zh-CN') },
          ]}
        />
      </Form.Item>
      <Form.Item name="currency" label={t('settings.currency')} rules={[{ required: true, message: t('wizard.required') }]}>
        <Select showSearch options={currencies} disabled={disabled} optionFilterProp="label" data-testid="field-currency" />
      </Form.Item>
    </>
  );
}
