package profiles

import "github.com/clientele-crm/clientele/platform/fields"

// SetPlan shrinks the planned list's limits (so a few hundred customers reach
// every strategy) and records the strategies it tries.
func SetPlan(m *Module, lim fields.Limits, trace func(fields.Step)) {
	m.planLimits, m.planTrace = lim, trace
}
