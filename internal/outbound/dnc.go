package outbound

import (
	"slices"
	"strings"
)

// Normalize reduces a phone number to the digits that identify it: the
// formatting (spaces, dashes, dots, parentheses) and a leading + go. It
// returns "" for a number with anything else in it, or with no digits.
func Normalize(number string) string {
	var b strings.Builder
	for i, r := range number {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	if b.Len() == 0 || b.Len() > 20 {
		return ""
	}
	return b.String()
}

// DNC is a do-not-call list: numbers, and prefixes (an entry ending in *)
// that block every number starting with them. Entries are normalized.
type DNC struct {
	numbers  map[string]string // number → the list it came from
	prefixes []prefix          // sorted by prefix
}

type prefix struct{ digits, list string }

// NewDNC returns an empty list.
func NewDNC() *DNC { return &DNC{numbers: map[string]string{}} }

// Add puts an entry (a number, or a prefix ending in *) on the list, noting
// which list it came from ("internal", an import's name). It reports
// false for an entry that is not a number.
func (d *DNC) Add(entry, list string) bool {
	digits, isPrefix := strings.CutSuffix(strings.TrimSpace(entry), "*")
	n := Normalize(digits)
	if n == "" {
		return false
	}
	if !isPrefix {
		d.numbers[n] = list
		return true
	}
	i, found := slices.BinarySearchFunc(d.prefixes, n, func(p prefix, s string) int { return strings.Compare(p.digits, s) })
	if found {
		d.prefixes[i].list = list
	} else {
		d.prefixes = slices.Insert(d.prefixes, i, prefix{n, list})
	}
	return true
}

// Remove takes an entry off the list.
func (d *DNC) Remove(entry string) {
	digits, isPrefix := strings.CutSuffix(strings.TrimSpace(entry), "*")
	n := Normalize(digits)
	if !isPrefix {
		delete(d.numbers, n)
		return
	}
	d.prefixes = slices.DeleteFunc(d.prefixes, func(p prefix) bool { return p.digits == n })
}

// Len is the entries on the list.
func (d *DNC) Len() int { return len(d.numbers) + len(d.prefixes) }

// Blocked reports whether number may not be called, and the list that
// blocks it. A number that does not normalize is blocked too (list
// "invalid"): nobody can say it is not on a list.
func (d *DNC) Blocked(number string) (bool, string) {
	n := Normalize(number)
	if n == "" {
		return true, "invalid"
	}
	if list, ok := d.numbers[n]; ok {
		return true, list
	}
	for l := len(n); l > 0; l-- { // the longest prefix on the list first
		i, found := slices.BinarySearchFunc(d.prefixes, n[:l], func(p prefix, s string) int { return strings.Compare(p.digits, s) })
		if found {
			return true, d.prefixes[i].list
		}
	}
	return false, ""
}
