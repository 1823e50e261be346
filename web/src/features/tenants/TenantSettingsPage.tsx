// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function TenantSettingsPage() {
  return <Result status="info" title="TenantSettingsPage" subTitle="This screen is not built yet." />;
}
