package outbound

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Contact is one person a campaign calls.
type Contact struct {
	Number string // normalized
	// Zone is the contact's IANA time zone: from the list's timezone
	// column, else from the number's country, else "" (the campaign's).
	Zone string
	// Fields are the list's other columns, shown to the agent and usable
	// in the script as {{name}}.
	Fields map[string]string
}

// RowError is a row of an import that was not taken, and why.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e RowError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Limits of one import.
const (
	MaxImportRows = 200_000
	maxFieldBytes = 1 << 10
	maxColumns    = 64
)

// ErrNoNumberColumn is an import whose header names no number column.
var ErrNoNumberColumn = errors.New("the header names no number column")

// ParseContacts reads a CSV contact list. The first row is the header;
// mapping renames its columns (the list's name → the field's), so a list
// whose numbers are in "Phone" imports with {"Phone": "number"}. The
// number column is required, timezone is optional (an IANA name); the
// other columns become the contact's fields. A row that cannot be taken
// (no number, a bad time zone, a number already in the list) is skipped
// and reported; the others are kept. An error is returned only when
// nothing can be read: no header, no number column, not CSV at all.
func ParseContacts(r io.Reader, mapping map[string]string) ([]Contact, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read the header: %w", err)
	}
	if len(head) > maxColumns {
		return nil, nil, fmt.Errorf("the header has %d columns, at most %d", len(head), maxColumns)
	}
	names := make([]string, len(head))
	numberCol, zoneCol := -1, -1
	seenName := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a spreadsheet's byte-order mark
		if to, ok := mapping[h]; ok {
			h = to
		}
		h = strings.ToLower(h)
		if h == "" {
			return nil, nil, fmt.Errorf("column %d of the header has no name", i+1)
		}
		if seenName[h] {
			return nil, nil, fmt.Errorf("the header names column %q twice", h)
		}
		seenName[h] = true
		names[i] = h
		switch h {
		case "number":
			numberCol = i
		case "timezone":
			zoneCol = i
		}
	}
	if numberCol < 0 {
		return nil, nil, ErrNoNumberColumn
	}
	var out []Contact
	var bad []RowError
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Line: pe.Line, Reason: pe.Err.Error()})
				if len(out)+len(bad) >= MaxImportRows {
					return out, bad, fmt.Errorf("the list has more than %d rows; split it", MaxImportRows)
				}
				continue // the reader goes on with the next row (a quote left open takes the rest with it)
			}
			return out, bad, fmt.Errorf("read the list: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(out)+len(bad) >= MaxImportRows {
			return out, bad, fmt.Errorf("the list has more than %d rows; split it", MaxImportRows)
		}
		if len(rec) != len(names) {
			bad = append(bad, RowError{line, fmt.Sprintf("%d fields, the header has %d", len(rec), len(names))})
			continue
		}
		c, reason := contactOf(rec, names, numberCol, zoneCol)
		if reason == "" && seen[c.Number] {
			reason = "the number " + c.Number + " is in the list already"
		}
		if reason != "" {
			bad = append(bad, RowError{line, reason})
			continue
		}
		seen[c.Number] = true
		out = append(out, c)
	}
	return out, bad, nil
}

func contactOf(rec, names []string, numberCol, zoneCol int) (Contact, string) {
	for _, f := range rec {
		if len(f) > maxFieldBytes {
			return Contact{}, fmt.Sprintf("a field longer than %d bytes", maxFieldBytes)
		}
	}
	raw := strings.TrimSpace(rec[numberCol])
	c := Contact{Number: Normalize(raw), Fields: map[string]string{}}
	if c.Number == "" {
		return Contact{}, fmt.Sprintf("number %q is not a phone number", raw)
	}
	if zoneCol >= 0 {
		if z := strings.TrimSpace(rec[zoneCol]); z != "" {
			if _, err := time.LoadLocation(z); err != nil || z == "Local" {
				return Contact{}, fmt.Sprintf("timezone %q is not an IANA time zone (e.g. America/New_York)", z)
			}
			c.Zone = z
		}
	}
	if c.Zone == "" {
		c.Zone = ZoneOfNumber(raw)
	}
	for i, f := range rec {
		if i != numberCol && i != zoneCol {
			c.Fields[names[i]] = strings.TrimSpace(f)
		}
	}
	return c, ""
}

// FieldNames is the fields the contacts carry, sorted.
func FieldNames(cs []Contact) []string {
	set := map[string]bool{}
	for _, c := range cs {
		for k := range c.Fields {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// countryZones are the calling codes of countries with one time zone,
// longest first where one starts another.
var countryZones = []struct{ code, zone string }{
	{"353", "Europe/Dublin"}, {"351", "Europe/Lisbon"}, {"358", "Europe/Helsinki"},
	{"44", "Europe/London"}, {"49", "Europe/Berlin"}, {"33", "Europe/Paris"},
	{"34", "Europe/Madrid"}, {"39", "Europe/Rome"}, {"31", "Europe/Amsterdam"},
	{"32", "Europe/Brussels"}, {"41", "Europe/Zurich"}, {"43", "Europe/Vienna"},
	{"45", "Europe/Copenhagen"}, {"46", "Europe/Stockholm"}, {"47", "Europe/Oslo"},
	{"48", "Europe/Warsaw"}, {"30", "Europe/Athens"}, {"64", "Pacific/Auckland"},
	{"65", "Asia/Singapore"}, {"81", "Asia/Tokyo"}, {"82", "Asia/Seoul"},
	{"91", "Asia/Kolkata"}, {"27", "Africa/Johannesburg"},
}

// ZoneOfNumber is the time zone of a number written in international form
// (+CC…) whose country has one zone, or a North American (+1) number's
// area code's (NANPZone); "" when the number does not say (a national
// number, a country with several zones such as Australia, an area code
// not known), and the campaign's zone applies.
func ZoneOfNumber(raw string) string {
	raw = strings.TrimSpace(raw)
	if !strings.HasPrefix(raw, "+") {
		return ""
	}
	n := Normalize(raw)
	if strings.HasPrefix(n, "1") {
		return NANPZone(n)
	}
	for _, c := range countryZones {
		if strings.HasPrefix(n, c.code) {
			return c.zone
		}
	}
	return ""
}

// InNANP says whether zone is one of the North American Numbering Plan's
// (the zones of NANPZone's table): a campaign in one of them reads a
// national number of ten digits, or eleven with its leading 1, as a
// North American one, in its area code's zone. Bogotá, São Paulo or
// Mexico City are not: their numbers are not area codes of the plan.
func InNANP(zone string) bool {
	for _, z := range nanpZones {
		if z == zone {
			return true
		}
	}
	return false
}
