package speech

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// stop are words too common to say what an utterance is about.
var stop = wordSet(`a an the and or but if so of to in on at for with from by about as is are was were be been
	being am i me my you your he she it its we our they them their this that these those there here what which who whom
	do does did have has had not no yes yeah okay ok oh um uh well just can could would should will shall may might must
	please thank thanks hello hi right like get got go going want know think one all any some then than too very really`)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// keyUtterances picks the n utterances that say most about the call
// (TextRank: utterances rank each other by the words they share), in the
// order they were said. Utterances of fewer than three words take no part.
func keyUtterances(us []Utterance, n int) []int {
	var idx []int
	var bags []map[string]bool
	for i, u := range us {
		bag := map[string]bool{}
		for _, w := range normWords(u.Text) {
			if !stop[w] {
				bag[w] = true
			}
		}
		if len(normWords(u.Text)) >= 3 && len(bag) > 0 {
			idx = append(idx, i)
			bags = append(bags, bag)
		}
	}
	if len(idx) <= n {
		return append([]int{}, idx...)
	}
	k := len(idx)
	sim := make([][]float64, k)
	out := make([]float64, k) // each node's total edge weight
	for i := range sim {
		sim[i] = make([]float64, k)
	}
	for i := range k {
		for j := i + 1; j < k; j++ {
			shared := 0
			for w := range bags[i] {
				if bags[j][w] {
					shared++
				}
			}
			if shared == 0 {
				continue
			}
			s := float64(shared) / (math.Log(float64(len(bags[i])+1)) + math.Log(float64(len(bags[j])+1)))
			sim[i][j], sim[j][i] = s, s
			out[i] += s
			out[j] += s
		}
	}
	rank := make([]float64, k)
	for i := range rank {
		rank[i] = 1
	}
	const d = 0.85
	for range 40 {
		next := make([]float64, k)
		for i := range k {
			var s float64
			for j := range k {
				if sim[j][i] > 0 {
					s += sim[j][i] / out[j] * rank[j]
				}
			}
			next[i] = (1 - d) + d*s
		}
		rank = next
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	// Highest rank first; on a tie (no shared words at all) the longer one.
	slices.SortStableFunc(order, func(a, b int) int {
		if rank[a] != rank[b] {
			if rank[a] > rank[b] {
				return -1
			}
			return 1
		}
		return len(bags[b]) - len(bags[a])
	})
	picked := make([]int, 0, n)
	for _, o := range order[:n] {
		picked = append(picked, idx[o])
	}
	slices.Sort(picked)
	return picked
}

// summarise writes the call's facts and key utterances as a paragraph.
func summarise(t Transcript, f Facts) string {
	var b strings.Builder
	who := "The caller"
	if f.Caller != "" {
		who = "The caller (" + f.Caller + ")"
	}
	agent := "the agent"
	if f.Agent != "" {
		agent = "agent " + f.Agent
	}
	fmt.Fprintf(&b, "%s talked for %s and %s for %s", who, dur(t.Talk.Caller), agent, dur(t.Talk.Agent))
	if f.Queue != "" {
		fmt.Fprintf(&b, " in %s", f.Queue)
	}
	fmt.Fprintf(&b, "; %s of silence, %s talking over each other.", dur(t.Talk.Silence), dur(t.Talk.Overlap))
	switch {
	case f.Holds > 0 || f.Transfers > 0:
		fmt.Fprintf(&b, " Held %s, transferred %s.", times(f.Holds), times(f.Transfers))
	}
	if len(t.Spotted) > 0 {
		var ps []string
		for _, s := range t.Spotted {
			ps = append(ps, fmt.Sprintf("%q at %s", s.Phrase, clock(s.At)))
		}
		fmt.Fprintf(&b, " Heard: %s.", strings.Join(ps, ", "))
	}
	if hasCaller(t.Utterances) {
		fmt.Fprintf(&b, " The caller's sentiment went from %s (%+.2f) to %s (%+.2f).", mood(t.Sentiment.Start), t.Sentiment.Start,
			mood(t.Sentiment.End), t.Sentiment.End)
	}
	var text, nums []string
	for _, u := range t.Utterances {
		text = append(text, u.Text)
	}
	// A side's utterances in a row are read as one (a card read in groups
	// of four is one number, masked); digits never run across speakers.
	for _, run := range sideRuns(t.Utterances) {
		for _, n := range Numbers(run) {
			if !slices.Contains(nums, n) {
				nums = append(nums, n)
			}
		}
	}
	if len(nums) > 0 {
		fmt.Fprintf(&b, " Numbers mentioned: %s.", strings.Join(nums, ", "))
	}
	if dates := Dates(strings.Join(text, " ")); len(dates) > 0 {
		fmt.Fprintf(&b, " Dates mentioned: %s.", strings.Join(dates, ", "))
	}
	if len(t.Key) > 0 {
		var ks []string
		for _, i := range t.Key {
			u := t.Utterances[i]
			ks = append(ks, fmt.Sprintf("%s at %s: %q", u.Channel, clock(u.Start), u.Text))
		}
		fmt.Fprintf(&b, " Key points: %s.", strings.Join(ks, "; "))
	}
	return b.String()
}

// sideRuns joins each side's consecutive utterances (no more than 5 s
// apart) into one text each.
func sideRuns(us []Utterance) []string {
	var out []string
	last := map[string]int{} // side → its run's index in out
	lastEnd := map[string]float64{}
	prevSide := ""
	for _, u := range us {
		i, ok := last[u.Channel]
		if ok && prevSide == u.Channel && u.Start-lastEnd[u.Channel] <= 5 {
			out[i] += " " + u.Text
		} else {
			out = append(out, u.Text)
			last[u.Channel] = len(out) - 1
		}
		lastEnd[u.Channel], prevSide = u.End, u.Channel
	}
	return out
}

func hasCaller(us []Utterance) bool {
	for _, u := range us {
		if u.Channel == Caller {
			return true
		}
	}
	return false
}

func mood(s float64) string {
	switch {
	case s < -0.05:
		return "negative"
	case s > 0.05:
		return "positive"
	}
	return "neutral"
}

func times(n int) string {
	switch n {
	case 0:
		return "never"
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func dur(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%d min %02.0f s", int(s)/60, math.Mod(s, 60))
}

func clock(s float64) string { return fmt.Sprintf("%d:%02d", int(s)/60, int(s)%60) }

var digitWords = map[string]string{"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
	"five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}

// Numbers finds numbers said in the text: runs of two or more digits said
// one by one ("four five six seven" is 4567) and numbers written in digits.
// A run of 12 digits or more (a card's) is masked but for its last four.
func Numbers(text string) []string {
	var out []string
	run := ""
	flush := func() {
		if len(run) >= 2 {
			out = append(out, mask(run))
		}
		run = ""
	}
	for _, w := range normWords(text) {
		if d, ok := digitWords[w]; ok {
			run += d
			continue
		}
		flush()
		if strings.Trim(w, "0123456789") == "" {
			out = append(out, mask(w))
		}
	}
	flush()
	return slices.Compact(out)
}

// mask hides a long number (a card's, an account's) but for its last four.
func mask(n string) string {
	if len(n) < 12 {
		return n
	}
	return strings.Repeat("•", len(n)-4) + n[len(n)-4:]
}

var dateWords = map[string]bool{"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true,
	"saturday": true, "sunday": true, "today": true, "tomorrow": true, "yesterday": true, "january": true, "february": true,
	"march": true, "april": true, "may": false, "june": true, "july": true, "august": true, "september": true,
	"october": true, "november": true, "december": true, "weekend": true}

// Dates finds days and months named in the text, each once.
func Dates(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range normWords(text) {
		if dateWords[w] && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
