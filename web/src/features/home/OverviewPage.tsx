// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function OverviewPage() {
  return <Result status="info" title="OverviewPage" subTitle="This screen is not built yet." />;
}
