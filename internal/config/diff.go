package config

import "github.com/pmezard/go-difflib/difflib"

// Diff is the unified diff, three lines of context, from setup text old
// (named from) to new (named to); empty when they are the same.
func Diff(old, new, from, to string) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(old), B: difflib.SplitLines(new), FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil { // only a failing writer errs, and a string's does not
		return ""
	}
	return d
}
