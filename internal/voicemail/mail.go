package voicemail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Compose builds the email for a message: a text part with caller, time
// and duration, and the recording as a WAV attachment.
func Compose(from string, v store.Voicemail, wav []byte) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	dur := time.Duration(v.DurationSeconds * float64(time.Second)).Round(time.Second)
	caller := v.Caller
	if v.CallerName != "" {
		caller = fmt.Sprintf("%s <%s>", v.CallerName, v.Caller)
	}
	h := textproto.MIMEHeader{}
	fmt.Fprintf(&buf, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@switchboard>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n",
		from, v.Email, mime.QEncoding.Encode("utf-8", fmt.Sprintf("Voicemail from %s (%s, %s)", caller, v.Mailbox, dur)),
		v.At.Format(time.RFC1123Z), v.ID, mw.Boundary())
	h.Set("Content-Type", "text/plain; charset=utf-8")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(part, "New voicemail in mailbox %s.\r\n\r\nFrom: %s\r\nReceived: %s\r\nDuration: %s\r\nCall: %s\r\n",
		v.Mailbox, caller, v.At.Format(time.RFC1123Z), dur, v.CallID)
	h = textproto.MIMEHeader{}
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Transfer-Encoding", "base64")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "voicemail-"+v.ID+".wav"))
	part, err = mw.CreatePart(h)
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(wav)
	for len(enc) > 76 {
		fmt.Fprintf(part, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	fmt.Fprintf(part, "%s\r\n", enc)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Send emails one stored message through the relay.
func Send(ctx context.Context, cfg config.SMTP, v store.Voicemail) error {
	wav, err := os.ReadFile(v.Path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(v.Path), err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	msg, err := Compose(cfg.From, v, wav)
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", cfg.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", cfg.Addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify}); err != nil { //nolint:gosec // the operator's choice for a self-signed relay
			return fmt.Errorf("smtp %s: starttls: %w", cfg.Addr, err)
		}
	} else if cfg.StartTLS {
		return fmt.Errorf("smtp %s: STARTTLS required but not offered", cfg.Addr)
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", cfg.Addr, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", cfg.Addr, err)
	}
	if err := c.Rcpt(v.Email); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO %s: %w", cfg.Addr, v.Email, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", cfg.Addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", cfg.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", cfg.Addr, err)
	}
	return c.Quit()
}
