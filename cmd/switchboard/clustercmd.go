package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/internal/cluster"
)

const clusterUsage = "usage: switchboard cluster status [--config FILE] [--json]"

// clusterCmd prints the nodes sharing the setup's store, the leader and
// its epoch, read from the store (readable while the nodes run).
func clusterCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return errors.New(clusterUsage)
	}
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON (the API's format, GET /api/v1/cluster)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New(clusterUsage)
	}
	_, st, err := sf.openStore(stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer st.Close()
	if !st.Shared() {
		return fmt.Errorf("the store of this setup is SQLite, one node's own: a cluster shares a PostgreSQL store (store: {driver: postgres, dsn: ...})")
	}
	status, err := cluster.Read(ctx, st, cluster.AliveWithin)
	now, err2 := st.Now(ctx)
	if err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(status)
	}
	leader := status.Leader
	if leader == "" {
		leader = "(none alive: a node is taking the lease)"
	}
	fmt.Fprintf(stdout, "leader %s, epoch %d\n\n", leader, status.Epoch)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tALIVE\tCALLS\tHEARTBEAT\tSIP\tHTTP\tRTP\tSTARTED\tNOTE")
	for _, n := range status.Nodes {
		note := ""
		switch {
		case n.LostAt != nil:
			note = "lost " + n.LostAt.Format(time.RFC3339)
		case n.StoppedAt != nil:
			note = "stopped " + n.StoppedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%v\t%d\t%s ago\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Alive, n.Calls, now.Sub(n.HeartbeatAt).Round(100*time.Millisecond),
			n.SIP, n.HTTP, n.RTP, n.StartedAt.Format(time.RFC3339), note)
	}
	return tw.Flush()
}
