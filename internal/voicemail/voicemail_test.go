package voicemail

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/mailtest"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// attachment parses an email and returns its WAV attachment and text part.
func attachment(t *testing.T, data []byte) (wav []byte, text string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return wav, text
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Type") == "audio/wav" {
			// multipart.Reader decodes quoted-printable only; base64 is ours to decode.
			dec, err := decodeBase64(b)
			if err != nil {
				t.Fatal(err)
			}
			wav = dec
		} else {
			text = string(b)
		}
	}
}

func TestSendAndRetry(t *testing.T) {
	// A port with nothing listening: delivery fails and is retried.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	st, err := store.Open(t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.SMTP{Addr: addr, From: "switchboard@demo.example", Username: "sb", Password: "secret", Retry: 100 * time.Millisecond}
	svc := New(t.TempDir(), cfg, st, slog.Default())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)

	pcm := make([]int16, 2*media.SampleRate) // 2 s
	for i := range pcm {
		pcm[i] = int16(1000 * (i % 16))
	}
	v, err := svc.Save(ctx, Message{CallID: "c1", Mailbox: "support", Email: "support@demo.example", Caller: "5551234",
		CallerName: "Ann", At: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), PCM: pcm})
	if err != nil {
		t.Fatal(err)
	}
	if v.DurationSeconds != 2 {
		t.Fatalf("duration %v", v.DurationSeconds)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		vs, _ := st.Voicemails(ctx, true, 10)
		if len(vs) == 1 && vs[0].Attempts >= 1 && vs[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded: %+v", vs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv, err := mailtest.Start(addr, "sb", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	msgs := srv.Wait(1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered after the relay came up", len(msgs))
	}
	m := msgs[0]
	if m.From != "switchboard@demo.example" || len(m.To) != 1 || m.To[0] != "support@demo.example" || m.User != "sb" {
		t.Fatalf("envelope %+v", m)
	}
	wav, text := attachment(t, m.Data)
	got, err := media.ParseWAV(wav)
	if err != nil || len(got) != len(pcm) || got[100] != pcm[100] {
		t.Fatalf("attachment: %d samples, err %v", len(got), err)
	}
	for _, want := range []string{"Ann <5551234>", "Duration: 2s", "support", "c1"} {
		if !strings.Contains(text, want) {
			t.Fatalf("text %q lacks %q", text, want)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		vs, _ := st.Voicemails(ctx, false, 10)
		if len(vs) == 1 && vs[0].DeliveredAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery not recorded: %+v", vs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p, _ := st.Voicemails(ctx, true, 10); len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}
}

// A relay offering STARTTLS gets the message over TLS, with AUTH PLAIN
// (which the relay refuses to take in the clear).
func TestSendOverStartTLS(t *testing.T) {
	srv, err := mailtest.StartTLS("127.0.0.1:0", "sb", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path := t.TempDir() + "/m.wav"
	if err := writeFile(path, EncodeWAV(make([]int16, 160))); err != nil {
		t.Fatal(err)
	}
	v := store.Voicemail{ID: "v1", Email: "a@demo.example", Path: path, At: time.Now()}
	cfg := config.SMTP{Addr: srv.Addr, From: "sb@demo.example", StartTLS: true, Username: "sb", Password: "secret"}
	if err := Send(context.Background(), cfg, v); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted without insecure_skip_verify: %v", err)
	}
	cfg.InsecureSkipVerify = true
	if err := Send(context.Background(), cfg, v); err != nil {
		t.Fatal(err)
	}
	if m := srv.Wait(1, 5*time.Second); len(m) != 1 || !m[0].Secure || m[0].User != "sb" {
		t.Fatalf("messages %+v", m)
	}
}

func TestStartTLSRequired(t *testing.T) {
	srv, err := mailtest.Start("127.0.0.1:0", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	path := dir + "/m.wav"
	if err := writeFile(path, EncodeWAV(make([]int16, 160))); err != nil {
		t.Fatal(err)
	}
	v := store.Voicemail{ID: "v1", Email: "a@demo.example", Path: path, At: time.Now()}
	err = Send(context.Background(), config.SMTP{Addr: srv.Addr, From: "sb@demo.example", StartTLS: true}, v)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("want a STARTTLS error, got %v", err)
	}
	if err := Send(context.Background(), config.SMTP{Addr: srv.Addr, From: "sb@demo.example"}, v); err != nil {
		t.Fatal(err)
	}
}
