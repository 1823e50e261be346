// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function TeamsPage() {
  return <Result status="info" title="TeamsPage" subTitle="This screen is not built yet." />;
}
