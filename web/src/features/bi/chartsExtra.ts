// The chart pieces only dashboards need (funnel, heatmap and its colour
// scale), added to the overview's ECharts when a widget first draws.
import { use } from 'echarts/core';
import { FunnelChart, HeatmapChart } from 'echarts/charts';
import { VisualMapComponent } from 'echarts/components';

use([FunnelChart, HeatmapChart, VisualMapComponent]);
