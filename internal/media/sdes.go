package media

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// SuiteAES128SHA1_80 is the one SDES crypto suite Switchboard speaks
// (RFC 4568 §6.2.1): AES-128 in counter mode, HMAC-SHA1 with an 80-bit tag.
const SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"

// KeyLen is the length of an SDES key: a 16-byte master key, then a
// 14-byte master salt.
const KeyLen = 16 + 14

// ErrNoCrypto means an RTP/SAVP stream carries no a=crypto line
// Switchboard can use (SIP 488).
var ErrNoCrypto = errors.New("no usable SRTP crypto")

// Crypto is one side's SDES key as an a=crypto line carries it. It prints
// without its key, so it may be logged.
type Crypto struct {
	// Tag is the line's tag; an answer repeats the tag of the offer's line
	// it accepts.
	Tag uint32
	// Key is the master key followed by the master salt.
	Key [KeyLen]byte
}

// NewCrypto makes a fresh random key with the given tag.
func NewCrypto(tag uint32) Crypto {
	c := Crypto{Tag: tag}
	_, _ = rand.Read(c.Key[:]) // crypto/rand.Read never fails (Go 1.24)
	return c
}

// String names the line without its key.
func (c Crypto) String() string {
	return fmt.Sprintf("a=crypto:%d %s inline:[key withheld]", c.Tag, SuiteAES128SHA1_80)
}

// GoString keeps %#v from printing the key.
func (c Crypto) GoString() string { return c.String() }

// LogValue keeps the key out of structured logs (slog).
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON keeps the key out of JSON.
func (c Crypto) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// attribute is the value of the a=crypto line that carries c.
func (c Crypto) attribute() string {
	return strconv.FormatUint(uint64(c.Tag), 10) + " " + SuiteAES128SHA1_80 + " inline:" +
		base64.StdEncoding.EncodeToString(c.Key[:])
}

// parseCrypto reads the value of an a=crypto attribute (RFC 4568 §9.1):
// "tag suite inline:key||salt[|lifetime]". Only SuiteAES128SHA1_80 with a
// single key and no MKI or session parameters is usable; anything else is
// an error, and the caller goes on to the next line. Errors never quote
// the key.
func parseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, errors.New("crypto line has fewer than three fields")
	}
	tag, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || len(f[0]) > 9 {
		return Crypto{}, errors.New("crypto line: bad tag")
	}
	if f[1] != SuiteAES128SHA1_80 {
		return Crypto{}, fmt.Errorf("crypto suite %.40q is not %s", f[1], SuiteAES128SHA1_80)
	}
	if len(f) > 3 {
		return Crypto{}, errors.New("crypto line: session parameters are not supported")
	}
	method, params, ok := strings.Cut(f[2], ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return Crypto{}, errors.New("crypto line: key method is not inline")
	}
	if strings.Contains(params, ";") {
		return Crypto{}, errors.New("crypto line: more than one key")
	}
	parts := strings.Split(params, "|")
	if len(parts) > 2 {
		return Crypto{}, errors.New("crypto line: MKI is not supported")
	}
	if len(parts) == 2 && strings.Contains(parts[1], ":") {
		return Crypto{}, errors.New("crypto line: MKI is not supported")
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(key) != KeyLen {
		return Crypto{}, errors.New("crypto line: the key is not 30 bytes of base64")
	}
	c := Crypto{Tag: uint32(tag)}
	copy(c.Key[:], key)
	return c, nil
}
