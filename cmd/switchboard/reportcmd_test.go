package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 9, 10, 0, 0, time.UTC)
	conn := at.Add(8 * time.Second)
	for _, c := range []store.CallRecord{
		{ID: "a", Queue: "support", ArrivedAt: at, QueuedAt: &at, ConnectedAt: &conn, WaitSeconds: 8, TalkSeconds: 120, Outcome: "answered"},
		{ID: "b", Queue: "support", ArrivedAt: at, QueuedAt: &at, WaitSeconds: 30, Outcome: "abandoned"},
	} {
		st.SaveCall(c)
		// Reports count queue segments; a record written directly has none.
		if seg, ok := store.SingleSegment(c); ok {
			st.SaveSegment(seg)
		}
	}
	st.Flush()
	st.Close()
	args := []string{"--data", dir, "--from", "2026-11-24T09:00:00Z", "--to", "2026-11-24T10:00:00Z", "--interval", "30m"}
	var out, errOut bytes.Buffer
	if err := reportCmd(context.Background(), append(args, "--json"), &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var rep struct {
		Totals []struct {
			Queue        string   `json:"queue"`
			Offered      int      `json:"offered"`
			ServiceLevel *float64 `json:"service_level"`
			ASASeconds   float64  `json:"asa_seconds"`
		} `json:"totals"`
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 || rep.Totals[1].Queue != "support" || rep.Totals[1].Offered != 2 || *rep.Totals[1].ServiceLevel != 0.5 || rep.Totals[1].ASASeconds != 8 {
		t.Fatalf("report %s", out.String())
	}
	out.Reset()
	if err := reportCmd(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2026-11-24 09:00") || !strings.Contains(out.String(), "50.0%") {
		t.Fatalf("table:\n%s", out.String())
	}
	if err := reportCmd(context.Background(), []string{"--data", dir, "--from", "yesterday"}, &out, &errOut); err == nil {
		t.Fatal("a bad --from should fail")
	}
}
