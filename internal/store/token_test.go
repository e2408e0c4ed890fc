package store

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestTokensExpireAndRevoke(t *testing.T) {
	st, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	forever, err := st.CreateToken(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	short, shortID, err := st.NewToken(ctx, "supervisor", time.Now().Add(-time.Second)) // already past
	if err != nil {
		t.Fatal(err)
	}
	later, laterID, err := st.NewToken(ctx, "1001", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, user string
		err               error
	}{
		{"no expiry", forever, "admin", nil},
		{"expired", short, "", ErrTokenExpired},
		{"not yet expired", later, "1001", nil},
		{"unknown", "sb_nope", "", ErrNotFound},
	} {
		u, err := st.TokenUser(ctx, tc.token)
		if u != tc.user || !errors.Is(err, tc.err) {
			t.Errorf("%s: %q %v, want %q %v", tc.name, u, err, tc.user, tc.err)
		}
	}
	list, err := st.Tokens(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("tokens %+v %v", list, err)
	}
	for _, tk := range list {
		if len(tk.ID) != TokenIDLength {
			t.Fatalf("token id %q", tk.ID)
		}
		if tk.ID == shortID && tk.Valid(time.Now()) {
			t.Fatalf("the expired token is listed valid: %+v", tk)
		}
	}
	if u, err := st.RevokeToken(ctx, laterID); err != nil || u != "1001" {
		t.Fatalf("revoke: %q %v", u, err)
	}
	if _, err := st.TokenUser(ctx, later); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("a revoked token: %v", err)
	}
	if _, err := st.RevokeToken(ctx, "abc"); err == nil {
		t.Fatal("a 3-digit id was taken")
	}
	if _, err := st.RevokeToken(ctx, "ffffffffffff"); !errors.Is(err, ErrNotFound) {
		t.Fatal("an unknown id was revoked")
	}
}
