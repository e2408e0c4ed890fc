package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard/switchboard/internal/config"
)

const ha1Usage = "usage: switchboard ha1 --user EXTENSION [--realm REALM] < password"

// maxPasswordLine bounds the line read as the password.
const maxPasswordLine = 4096

// ha1Cmd prints the digest HA1 of an agent's SIP password, for
// password_ha1 in the setup: MD5(user:realm:password), lowercase hex. The
// password is the first line of stdin, so it is neither an argument (seen
// by every user of the machine in the process list) nor in the shell's
// history.
func ha1Cmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ha1", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the agent's extension (the digest username)")
	realm := fs.String("realm", config.Defaults().Server.Realm, "the server's realm: server.realm of the setup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" || *realm == "" || fs.NArg() != 0 {
		return errors.New(ha1Usage)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return fmt.Errorf("ha1: %w", err)
	}
	fmt.Fprintln(stdout, config.DigestHA1(*user, *realm, password))
	return nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxPasswordLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return "", errors.New("no password on stdin")
	}
	pw := strings.TrimSuffix(sc.Text(), "\r")
	if pw == "" {
		return "", errors.New("empty password on stdin")
	}
	return pw, nil
}
