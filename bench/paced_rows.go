package bench

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// lagGoal is issue 20's bound on delivery lag at a sustainable load.
const lagGoal = time.Second

// deliveryRows are the rows of the goal "delivery keeps up": the paced
// phase's lag and drain, the delivery floor, and the commits a delivery
// cost, counted on the server.
func (r *Report) deliveryRows() []Row {
	var rows []Row
	if p := r.Paced; p != nil {
		rows = append(rows, p.lagRow(r.DeliveryFloor), p.drainRow(r.DeliveryFloor, r.DeliveryFloorBatch))
	}
	if f, b := r.DeliveryFloor, r.DeliveryFloorBatch; f.Records > 0 {
		rows = append(rows, Row{Goal: "delivery floor: bbolt commits per second, same sync, reported",
			Measured: fmt.Sprintf("one writer: %.0f commits/s (p50 %s, p99 %s); %d writers sharing commits: %.0f records/s in %.0f commits/s (%.1f records per commit)",
				f.CommitsPerSecond(), msStr(f.Latency.P50), msStr(f.Latency.P99), b.Writers, b.RecordsPerSecond(), b.CommitsPerSecond(), per(float64(b.Records), b.Commits))})
	}
	rows = append(rows, r.commitsRow())
	return rows
}

// pct formats a fraction of the sustainable rate: 0.8 -> "80%".
func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// offeredInFull is whether the tool sent what the schedule offered: at most
// 5% not sent (every slot busy). A phase the tool could not offer does not
// pass a goal of the server.
func (p *PacedReport) offeredInFull() bool { return p.Load.Dropped*20 <= p.Offered() }

// lagRow judges the lag (answer -> delivery) against lagGoal; its floor is
// one fsync'd commit, the least a durable queue adds.
func (p *PacedReport) lagRow(floor CommitResult) Row {
	row := Row{Goal: fmt.Sprintf("delivery lag p99 < 1 s at %s load", pct(p.Fraction)),
		Measured: fmt.Sprintf("offered %.0f req/s (%s of %.0f%s), achieved %.0f; latency from the schedule p50 %s, p99 %s; lag p50 %s, p99 %s; %d of %d delivered; %d sent late, %d not sent (client busy)",
			p.Rate, pct(p.Fraction), p.Sustainable, p.sustainedBy(), p.Load.RPS(), msStr(p.Latency.P50), msStr(p.Latency.P99),
			msStr(p.Lag.P50), msStr(p.Lag.P99), p.Delivered, p.Produced, p.Load.Late, p.Load.Dropped),
		Met: yesNo(p.Produced > 0 && p.Delivered == p.Produced && p.Lag.P99 < lagGoal && p.offeredInFull())}
	if floor.Records > 0 {
		row.Floor = fmt.Sprintf("one commit (one writer) p99 %s", msStr(floor.Latency.P99))
		row.Ratio = ratio(float64(p.Lag.P99), float64(floor.Latency.P99))
	}
	return row
}

// drainRow judges whether the queue keeps up: by the end of the phase, at
// most one second of answers (the lag goal) may still wait for delivery.
// Its ratio is produced ÷ received per second: above 1.0x the queue grows.
func (p *PacedReport) drainRow(one, batch CommitResult) Row {
	allowed := int(math.Ceil(p.ProducedPerSecond() * lagGoal.Seconds()))
	row := Row{Goal: fmt.Sprintf("queue drains as fast as answers are produced at %s load (backlog at the end ≤ 1 s of answers)", pct(p.Fraction)),
		Measured: fmt.Sprintf("produced %.0f/s, received %.0f/s over %.1f s; backlog %d at the end (allowed %d); drained %.1f s after",
			p.ProducedPerSecond(), p.ReceivedPerSecond(), p.Load.Elapsed.Seconds(), p.Backlog(), allowed, p.Drain.Seconds()),
		Ratio: ratio(p.ProducedPerSecond(), p.ReceivedPerSecond()),
		Met:   yesNo(p.Produced > 0 && p.Delivered == p.Produced && p.Backlog() <= allowed && p.offeredInFull())}
	if one.Records > 0 {
		row.Floor = fmt.Sprintf("delivery floor: one writer %.0f commits/s; %d writers %.0f records/s", one.CommitsPerSecond(), batch.Writers, batch.RecordsPerSecond())
	}
	return row
}

// commitsRow reports the commits a delivery cost, counted on the server's
// /metrics: one user at a time (one request in flight, so few commits are
// shared), while the load's backlog drained (deliveries alone: the row's
// ratio), and per request with its delivery in the paced phase. The floor
// is one commit per delivery.
func (r *Report) commitsRow() Row {
	row := Row{Goal: "commits per delivery (counted on /metrics), reported", Floor: "1 commit per delivery"}
	var paced CommitCount
	if r.Paced != nil {
		paced = r.Paced.Commits
	}
	perRequest := func(name string, c CommitCount) string {
		return fmt.Sprintf("%s: %.0f commits for %d requests and %d deliveries = %.2f per request with its delivery",
			name, c.Commits, c.Requests, c.Deliveries, c.PerRequest())
	}
	var parts []string
	if c := r.SingleCommits; c.Known {
		parts = append(parts, perRequest("one user at a time", c))
	}
	switch d := r.DrainCommits; {
	case d.Known && d.Deliveries == 0:
		parts = append(parts, "drain after the load: no backlog left to drain")
	case d.Known:
		parts = append(parts, fmt.Sprintf("drain after the load (deliveries only): %.0f commits for %d deliveries = %.2f per delivery", d.Commits, d.Deliveries, d.PerDelivery()))
		row.Ratio = ratio(d.PerDelivery(), 1)
	}
	if paced.Known {
		parts = append(parts, perRequest("paced phase", paced))
	}
	if len(parts) == 0 {
		row.Measured = "not counted: the server has no " + commitsMetric + " on /metrics"
		return row
	}
	row.Measured = strings.Join(parts, "; ")
	return row
}

// sustainedBy says which rate of the closed loop is the sustainable one
// when the deliveries were measured.
func (p *PacedReport) sustainedBy() string {
	if p.LoopDelivered <= 0 {
		return ""
	}
	return fmt.Sprintf(", the lower of %.0f answered/s and %.0f delivered/s under the closed loop", p.LoopAnswered, p.LoopDelivered)
}
