package bi

import (
	"context"
	"time"
)

// NextRun exposes the schedule arithmetic to the tests.
var NextRun = nextRun

// DrawFunnel draws a funnel of the categories and values, and returns the
// names as drawn.
func DrawFunnel(m *Module, cats []string, values []float64) ([]string, error) {
	f, err := m.fonts.load(m.d.FontPath)
	if err != nil {
		return nil, err
	}
	return drawFunnel(newCanvas(f, chartW, chartH), chartData{cats: cats, series: []string{""}, vals: [][]float64{values}}, ""), nil
}

// SetLastSweep sets when the last rollup refresh ended and how long it
// took, which pace the next.
func SetLastSweep(m *Module, at time.Time, took time.Duration) {
	m.sweepMu.Lock()
	m.sweptAt, m.sweptFor = at, took
	m.sweepMu.Unlock()
}

// SetSweeping says a sweep of this process is running (or not).
func SetSweeping(m *Module, on bool) {
	m.sweepMu.Lock()
	m.sweeping = on
	m.sweepMu.Unlock()
}

// WatchPauses replaces the sweep's waits between refreshes by a record of
// them (no wait).
func WatchPauses(m *Module) *[]time.Duration {
	var got []time.Duration
	m.pause = func(_ context.Context, d time.Duration) error {
		got = append(got, d)
		return nil
	}
	return &got
}

// LastRefresh is the last refresh's end and length.
func LastRefresh(m *Module) (time.Time, time.Duration) {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	return m.sweptAt, m.sweptFor
}
