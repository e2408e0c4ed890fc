package outbound

import (
	"testing"
	"time"
)

func TestNANPZone(t *testing.T) {
	for _, tc := range []struct {
		name, number, want string
	}{
		{"New York", "2125550123", "America/New_York"},
		{"Los Angeles", "2135550123", "America/Los_Angeles"},
		{"Chicago", "3125550123", "America/Chicago"},
		{"Denver", "3035550123", "America/Denver"},
		{"Phoenix", "6025550123", "America/Phoenix"},
		{"Honolulu", "8085550123", "Pacific/Honolulu"},
		{"Anchorage", "9075550123", "America/Anchorage"},
		{"Indianapolis", "3175550123", "America/Indiana/Indianapolis"},
		{"Detroit", "3135550123", "America/Detroit"},
		{"Louisville", "5025550123", "America/Kentucky/Louisville"},
		{"Boise", "2085550123", "America/Boise"},
		{"El Paso", "9155550123", "America/Denver"},
		{"Toronto", "4165550123", "America/Toronto"},
		{"Vancouver", "6045550123", "America/Vancouver"},
		{"Regina", "3065550123", "America/Regina"},
		{"St. John's", "7095550123", "America/St_Johns"},
		{"Halifax", "9025550123", "America/Halifax"},
		{"Moncton", "5065550123", "America/Moncton"},
		{"Puerto Rico", "7875550123", "America/Puerto_Rico"},
		{"Jamaica", "8765550123", "America/Jamaica"},
		{"Guam", "6715550123", "Pacific/Guam"},
		{"international form, leading 1", "12125550123", "America/New_York"},
		{"toll-free 800", "8005550123", ""},
		{"toll-free 888, leading 1", "18885550123", ""},
		{"premium 900", "9005550123", ""},
		{"personal 500", "5005550123", ""},
		{"9 digits", "212555012", ""},
		{"11 digits not starting with 1", "22125550123", ""},
		{"12 digits", "121255501234", ""},
		{"empty", "", ""},
		{"letters", "212555ABCD", ""},
		{"punctuation not stripped", "212-555-0123", ""},
		{"plus sign", "+2125550123", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NANPZone(tc.number); got != tc.want {
				t.Errorf("NANPZone(%q) = %q, want %q", tc.number, got, tc.want)
			}
		})
	}
}

func TestNANPZonesLoad(t *testing.T) {
	loaded := map[string]bool{}
	for npa, zone := range nanpZones {
		if len(npa) != 3 || npa[0] < '2' || npa[0] > '9' ||
			npa[1] < '0' || npa[1] > '9' || npa[2] < '0' || npa[2] > '9' {
			t.Errorf("area code %q: want 3 digits, the first 2-9", npa)
		}
		if loaded[zone] {
			continue
		}
		loaded[zone] = true
		if _, err := time.LoadLocation(zone); err != nil {
			t.Errorf("area code %s: zone %q: %v", npa, zone, err)
		}
	}
}

// A contact's zone from its number: international +1 numbers by their
// area code; national ten-digit numbers only in a North American campaign
// (InNANP: not a Latin American one, whose ten-digit numbers are not area
// codes of the plan).
func TestZoneOfNumberNANP(t *testing.T) {
	for _, tc := range []struct {
		fn   func() string
		want string
	}{
		{func() string { return ZoneOfNumber("+1 (212) 555-0123") }, "America/New_York"},
		{func() string { return ZoneOfNumber("+1 808 555 0123") }, "Pacific/Honolulu"},
		{func() string { return ZoneOfNumber("+1 800 555 0123") }, ""},
		{func() string { return ZoneOfNumber("+44 20 7946 0123") }, "Europe/London"},
		{func() string { return ZoneOfNumber("2125550123") }, ""},
		{func() string { return NANPZone(Normalize("213-555-0123")) }, "America/Los_Angeles"},
		{func() string { return NANPZone(Normalize("1 312 555 0123")) }, "America/Chicago"},
		{func() string { return NANPZone(Normalize("5550123")) }, ""},
	} {
		if got := tc.fn(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestInNANP(t *testing.T) {
	for zone, want := range map[string]bool{"America/New_York": true, "America/Phoenix": true, "America/Toronto": true,
		"Pacific/Honolulu": true, "America/Puerto_Rico": true, "America/Bogota": false, "America/Sao_Paulo": false,
		"America/Mexico_City": false, "Europe/London": false, "Local": false, "": false} {
		if got := InNANP(zone); got != want {
			t.Errorf("InNANP(%q) = %v, want %v", zone, got, want)
		}
	}
}
