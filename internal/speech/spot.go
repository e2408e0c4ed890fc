package speech

import "strings"

// Phrases normalises phrases to spot: lower case, words of letters and
// apostrophes, single spaces; empty and repeated ones dropped.
func Phrases(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range in {
		p = strings.Join(normWords(p), " ")
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// Match is a phrase found in a text: the index of its first word, its
// length in words, and which occurrence of it in the text it is (0 first).
type Match struct {
	Phrase    string
	Word, Len int
	Nth       int
}

// FindPhrases finds each occurrence of the (normalised) phrases in text,
// word for word, in the order they come.
func FindPhrases(phrases []string, text string) []Match {
	words := normWords(text)
	var out []Match
	count := map[string]int{}
	for i := range words {
		for _, p := range phrases {
			pw := strings.Fields(p)
			if i+len(pw) > len(words) {
				continue
			}
			ok := true
			for k, w := range pw {
				if words[i+k] != w {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, Match{Phrase: p, Word: i, Len: len(pw), Nth: count[p]})
				count[p]++
			}
		}
	}
	return out
}
