package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return m
}

func TestErlangJSON(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"erlang c", []string{"erlang", "--arrivals-per-hour", "600", "--aht", "180s", "--agents", "35", "--json"},
			[]string{"agents", "p_wait", "service_level", "asa_seconds", "occupancy"}},
		{"erlang a", []string{"erlang", "--arrivals-per-hour", "600", "--aht", "180s", "--agents", "30", "--patience", "90s", "--json"},
			[]string{"agents", "p_wait", "service_level", "asa_seconds", "occupancy", "abandon_rate"}},
		{"solve", []string{"erlang", "--arrivals-per-hour", "600", "--aht", "180s", "--target-sl", "0.8", "--json"},
			[]string{"agents", "service_level"}},
		{"simulate", []string{"simulate", "--arrivals-per-hour", "600", "--aht", "180s", "--agents", "35", "--patience", "120s", "--hours", "2", "--json"},
			[]string{"agents", "p_wait", "service_level", "asa_seconds", "occupancy", "abandon_rate", "aht_seconds", "intervals"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := runJSON(t, tc.args...)
			for _, k := range tc.want {
				if _, ok := m[k]; !ok {
					t.Errorf("JSON lacks %q: %v", k, m)
				}
			}
		})
	}
	if m := runJSON(t, "erlang", "--arrivals-per-hour", "600", "--aht", "180s", "--target-sl", "0.8", "--json"); m["agents"].(float64) != 35 {
		t.Fatalf("600/h × 180 s at 80/20 needs 35 agents, got %v", m["agents"])
	}
}

func TestErlangBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"erlang", "--aht", "180s", "--agents", "3"},
		{"erlang", "--arrivals-per-hour", "10", "--agents", "3"},
		{"erlang", "--arrivals-per-hour", "10", "--aht", "180s"},
		{"erlang", "--arrivals-per-hour", "10", "--aht", "180s", "--agents", "3", "--target-sl", "0.8"},
		{"erlang", "--arrivals-per-hour", "10", "--aht", "180s", "--target-sl", "1.5"},
		{"simulate", "--arrivals-per-hour", "10", "--aht", "180s", "--agents", "3", "--profile", "1,x"},
		{"simulate", "--arrivals-per-hour", "10", "--aht", "180s", "--agents", "3", "--handle-dist", "weibull"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestSimulateOutbound(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"simulate", "--outbound", "--agents", "10", "--hours", "2", "--answer-rate", "0.3", "--json"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("%v: %s", err, out.String())
	}
	for i, mode := range []string{"predictive", "power", "progressive"} {
		if rows[i]["mode"] != mode || rows[i]["attempts"].(float64) == 0 || rows[i]["occupancy"] == nil || rows[i]["abandon_rate"] == nil {
			t.Errorf("row %d: %v", i, rows[i])
		}
	}
	for _, args := range [][]string{
		{"simulate", "--outbound", "--mode", "preview"},
		{"simulate", "--outbound", "--mode", "turbo"},
		{"simulate", "--outbound", "--answer-rate", "0"},
		{"simulate", "--outbound", "--target", "2"},
		{"simulate", "--outbound", "--ring", "5s"},
	} {
		if err := run(context.Background(), args, &out, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
