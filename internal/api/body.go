package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// decodeBody reads r's body into v: one JSON value of at most maxBytes bytes,
// with no field v lacks and nothing after it. A client's mistake is
// strict here so that a typo ({"stat": "away"}) is refused, not silently
// ignored; the error says what is wrong in words fit for a 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return bodyError(err)
		}
		return errors.New("data after the JSON value")
	}
	return nil
}

// bodyError says why a body could not be decoded.
func bodyError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return errors.New("empty, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends too early")
	case errors.As(err, &syntax):
		return fmt.Errorf("not JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("want %s, not a JSON %s", jsonKind(typ.Type), typ.Value)
		}
		return fmt.Errorf("%s: want %s, not a JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)
	}
	// Unknown fields ("json: unknown field \"x\"") and the rest.
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the JSON a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// badBody answers 400 to a body that could not be decoded (err) or that
// decoded but is not what the route wants (err nil): want says what it
// wants, and err why this body is not it.
func badBody(w http.ResponseWriter, want string, err error) {
	if err != nil {
		want += ": " + err.Error()
	}
	writeError(w, 400, want)
}
