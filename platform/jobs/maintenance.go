package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"
)

// TypePartitions keeps monthly partitions (audit log, interactions, ...) created
// three months ahead.
const TypePartitions = "platform:partitions"

// MaintenanceHandlers are the kernel's own global tasks.
func MaintenanceHandlers(d *bun.DB) []Handler {
	return []Handler{{
		Type:  TypePartitions,
		Queue: QueueDefault,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
			// The function is SECURITY DEFINER, so the app role may run it.
			_, err := d.ExecContext(ctx, `SELECT clientele_ensure_month_partitions(c.oid::regclass, 3)
				FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
				JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`)
			if err != nil {
				return fmt.Errorf("jobs: partitions: %w", err)
			}
			return nil
		},
	}}
}

// MaintenanceSchedules runs the kernel's upkeep.
func MaintenanceSchedules() []Schedule {
	return []Schedule{{Name: "partitions-daily", Cron: "17 3 * * *", Type: TypePartitions, Queue: QueueDefault}}
}
