// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function ApiKeysPage() {
  return <Result status="info" title="ApiKeysPage" subTitle="This screen is not built yet." />;
}
