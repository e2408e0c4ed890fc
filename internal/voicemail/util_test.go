package voicemail

import (
	"encoding/base64"
	"os"
	"strings"
)

func decodeBase64(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
