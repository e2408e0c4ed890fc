package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	osuser "os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

const tokenUsage = `usage:
  switchboard token create --user NAME [--expires 720h] [--config FILE] [--data DIR]
  switchboard token list [--config FILE] [--data DIR]
  switchboard token revoke ID [--config FILE] [--data DIR]`

// tokenCmd creates, lists and revokes API tokens. Each creation and
// revocation is written to the audit log, with the operating-system user
// who ran the command.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	user := fs.String("user", "", "create: the user the token acts as")
	expires := fs.Duration("expires", 0, "create: how long the token is valid (0: until revoked)")
	switch args[0] {
	case "create", "list", "revoke":
	default:
		return errors.New(tokenUsage)
	}
	rest := args[1:]
	id := "" // revoke's ID, before or after the flags
	if args[0] == "revoke" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if args[0] == "revoke" && id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() != 0 {
		return errors.New(tokenUsage)
	}
	cfg, st, err := sf.openStore(stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := "cli"
	if u, err := osuser.Current(); err == nil {
		actor = "cli:" + u.Username
	}
	switch args[0] {
	case "create":
		if !setupHasUser(cfg, *user) {
			return fmt.Errorf("--user: no user %q in the setup", *user)
		}
		if *expires < 0 {
			return fmt.Errorf("--expires: %v is negative", *expires)
		}
		var until time.Time
		if *expires > 0 {
			until = time.Now().Add(*expires)
		}
		tok, id, err := st.NewToken(ctx, *user, until)
		if err != nil {
			return err
		}
		detail := "no expiry"
		if !until.IsZero() {
			detail = "expires " + until.UTC().Format(time.RFC3339)
		}
		if err := st.Audit(ctx, store.AuditEntry{Actor: actor, Action: "token_create", Target: *user + "/" + id, Detail: detail}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
	case "list":
		tokens, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tCREATED\tEXPIRES\tSTATUS")
		now := time.Now()
		for _, t := range tokens {
			exp, status := "never", "valid"
			if t.ExpiresAt != nil {
				exp = t.ExpiresAt.Format(time.RFC3339)
			}
			switch {
			case t.RevokedAt != nil:
				status = "revoked " + t.RevokedAt.Format(time.RFC3339)
			case !t.Valid(now):
				status = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.CreatedAt.Format(time.RFC3339), exp, status)
		}
		return tw.Flush()
	case "revoke":
		if id == "" {
			return errors.New(tokenUsage)
		}
		u, err := st.RevokeToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no token with id %q (see switchboard token list)", id)
		}
		if err != nil {
			return err
		}
		if err := st.Audit(ctx, store.AuditEntry{Actor: actor, Action: "token_revoke", Target: u + "/" + id}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %s of %s\n", id, u)
	}
	return nil
}

func setupHasUser(cfg *config.Config, name string) bool {
	for _, u := range cfg.Users {
		if u.Username == name {
			return true
		}
	}
	for _, a := range cfg.Agents {
		if a.Extension == name {
			return true
		}
	}
	return false
}
