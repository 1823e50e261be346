// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function RecoveryPage() {
  return <Result status="info" title="RecoveryPage" subTitle="This screen is not built yet." />;
}
