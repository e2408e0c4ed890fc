package speech

import "strings"

// Errors counts the word errors of hyp against ref (substitutions,
// deletions and insertions: their edit distance in words) and returns them
// with the reference's length; word error is errs/words.
func Errors(ref, hyp string) (errs, words int) {
	r, h := normWords(ref), normWords(hyp)
	prev := make([]int, len(h)+1)
	cur := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(h)], len(r)
}

// normWords lowercases and splits text into words, punctuation dropped.
func normWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
	})
}
