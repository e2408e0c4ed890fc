package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/report"
)

// reportCmd prints the queue report from the data directory's database
// (readable while the server runs).
func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	now := time.Now().UTC()
	fromS := fs.String("from", now.Truncate(24*time.Hour).Format(time.RFC3339), "start, RFC 3339 (default: today 00:00 UTC)")
	toS := fs.String("to", now.Truncate(24*time.Hour).Add(24*time.Hour).Format(time.RFC3339), "end, RFC 3339 (default: tomorrow 00:00 UTC)")
	interval := fs.Duration("interval", time.Hour, "interval of the rows, e.g. 15m, 30m, 60m")
	asJSON := fs.Bool("json", false, "print JSON (the API's format)")
	all := fs.Bool("all", false, "print every interval, not only those with calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, err1 := time.Parse(time.RFC3339, *fromS)
	to, err2 := time.Parse(time.RFC3339, *toS)
	if err1 != nil || err2 != nil || !to.After(from) || *interval < time.Minute {
		return fmt.Errorf("--from and --to: RFC 3339 times, from before to; --interval at least 1m")
	}
	cfg, st, err := sf.openStore(stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := report.Queues(cfg.Queues, from, to, *interval, api.StoreSum(ctx, st))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "queue\tinterval\toffered\tanswered\tabandoned\tshort ab.\tSL\tASA s\tAHT s\tlongest s\t")
	line := func(r report.QueueRow, when string) {
		sl := "—"
		if r.ServiceLevel != nil {
			sl = fmt.Sprintf("%.1f%%", 100**r.ServiceLevel)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.1f\t%.1f\t%.1f\t\n", r.Queue, when, r.Offered, r.Answered, r.Abandoned,
			r.ShortAbandoned, sl, r.ASASeconds, r.AHTSeconds, r.LongestWaitSeconds)
	}
	for _, r := range rep.Rows {
		if *all || r.Offered > 0 {
			line(r, r.IntervalStart.Format("2006-01-02 15:04"))
		}
	}
	for _, r := range rep.Totals {
		line(r, "total")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nSL = answered within the queue's threshold / (offered − abandoned within %s); ASA = queue wait of answered / answered;\nAHT = (talk + hold + wrap-up) / answered; abandoned excludes the short abandons.\n", report.ShortAbandon)
	return nil
}
