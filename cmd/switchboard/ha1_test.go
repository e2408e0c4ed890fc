package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHA1Command(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		want        string // the output, or a part of the error
		wantErr     bool
	}{
		// RFC 2617 §3.5's example credentials.
		{"piped password", "Circle Of Life\n", []string{"--user", "Mufasa", "--realm", "testrealm@host.com"}, "939e7578ed9e3c518a452acee763bce9\n", false},
		{"CRLF, further lines ignored", "Circle Of Life\r\nmore\n", []string{"--user", "Mufasa", "--realm", "testrealm@host.com"}, "939e7578ed9e3c518a452acee763bce9\n", false},
		{"no final newline", "Circle Of Life", []string{"--user", "Mufasa", "--realm", "testrealm@host.com"}, "939e7578ed9e3c518a452acee763bce9\n", false},
		{"default realm", "demo1001\n", []string{"--user", "1001"}, "661c04ea7c6bbbdcf340b8301457d931\n", false},
		{"no user", "x\n", []string{"--realm", "r"}, "usage", true},
		{"no password", "", []string{"--user", "1001"}, "no password on stdin", true},
		{"empty password", "\n", []string{"--user", "1001"}, "empty password", true},
		{"password given as an argument", "x\n", []string{"--user", "1001", "secret"}, "usage", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := ha1Cmd(tc.args, strings.NewReader(tc.stdin), &out, &errOut)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want one with %q", err, tc.want)
			case !tc.wantErr && (err != nil || out.String() != tc.want):
				t.Fatalf("output %q, err %v; want %q", out.String(), err, tc.want)
			}
		})
	}
}
