package security

import (
	"net/netip"
	"time"
)

// EventKind is what happened.
type EventKind string

// Kinds of security events.
const (
	// KindAuthFailure is a request whose credentials were wrong, or named
	// an unknown user (the two are not told apart).
	KindAuthFailure EventKind = "auth_failure"
	// KindNonceReplay is an Authorization reusing a nonce with a count
	// that did not increase, or past the uses a nonce allows.
	KindNonceReplay EventKind = "nonce_replay"
	// KindURIMismatch is an Authorization made for another request URI.
	KindURIMismatch EventKind = "uri_mismatch"
	// KindBan is a source banned.
	KindBan EventKind = "ban"
	// KindLift is a ban lifted by an operator.
	KindLift EventKind = "unban"
	// KindRateLimited is a source sending a method faster than its rate
	// allows; the requests over it are dropped unanswered.
	KindRateLimited EventKind = "rate_limited"
	// KindMalformed is a source sending what does not parse as SIP.
	KindMalformed EventKind = "malformed"
	// KindConnectionLimit is a TCP or TLS connection refused because its
	// source, or the edge as a whole, holds as many as it may.
	KindConnectionLimit EventKind = "connection_limit"
)

func (k EventKind) String() string { return string(k) }

// Counts reports whether an event of this kind is a failed authentication
// that counts toward a ban.
func (k EventKind) Counts() bool {
	switch k {
	case KindAuthFailure, KindNonceReplay, KindURIMismatch:
		return true
	}
	return false
}

// Event is one security event.
type Event struct {
	At     time.Time  `json:"at"`
	Kind   EventKind  `json:"kind"`
	Source netip.Addr `json:"source"`
	// User is the user name the request claimed, if any.
	User   string `json:"user,omitempty"`
	Method string `json:"method,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Until is when a ban ends.
	Until time.Time `json:"until,omitzero"`
	// Count is how many occurrences an event of a shed kind (see
	// Guard.Shed) stands for: this one and those from its source since the
	// previous such event, which were counted but not reported one by one.
	Count uint64 `json:"count,omitempty"`
}

// LogMessage is the message of every security event's log line. With the
// text handler a line reads
//
//	time=… level=WARN msg="security event" kind=auth_failure source=203.0.113.7 user=1001 method=REGISTER detail="wrong credentials"
//
// so a fail2ban filter matches
//
//	failregex = msg="security event" kind=(auth_failure|nonce_replay|uri_mismatch) source=<HOST>
const LogMessage = "security event"

// LogAttrs are the event's fields for slog, kind and source first so the
// line keeps the order a fail2ban filter expects.
func (e Event) LogAttrs() []any {
	src := "unknown" // a TCP message that did not parse: sipgo does not say from where
	if e.Source.IsValid() {
		src = e.Source.String()
	}
	a := []any{"kind", string(e.Kind), "source", src}
	if e.User != "" {
		a = append(a, "user", e.User)
	}
	if e.Method != "" {
		a = append(a, "method", e.Method)
	}
	if e.Detail != "" {
		a = append(a, "detail", e.Detail)
	}
	if !e.Until.IsZero() {
		a = append(a, "until", e.Until.UTC().Format(time.RFC3339))
	}
	if e.Count > 0 {
		a = append(a, "count", e.Count)
	}
	return a
}
