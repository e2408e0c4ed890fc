package nodetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// SpeechWorker builds the speech worker (cmd/switchboard-speech: cgo,
// libpocketsphinx) and returns its path; the Go build cache makes a second
// build quick. Without the library it skips the test, except in CI.
func SpeechWorker(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "switchboard-speech-test-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "switchboard-speech")
	tmp := out + "." + strconv.Itoa(os.Getpid())
	build := exec.Command("go", "build", "-o", tmp, "github.com/switchboard/switchboard/cmd/switchboard-speech")
	if b, err := build.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("the speech worker does not build here (apt-get install libpocketsphinx-dev pocketsphinx-en-us): %v\n%s", err, b)
		}
		t.Fatalf("building the speech worker: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil { // atomic: another test process may run it
		t.Fatal(err)
	}
	return out
}
