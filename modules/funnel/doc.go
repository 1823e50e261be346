// Package funnel is the sales funnel (销售漏斗): pipelines of ordered stages,
// deals that move through them on a board, the tenant's lost reasons, and the
// history of every stage a deal entered and left, from which the analytics are
// computed. It imports the platform only; customers are reached through the
// database's foreign key (same tenant) and the records registry.
package funnel
