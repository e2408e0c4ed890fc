//go:build race

package media

// raceEnabled: the race detector is on (sync.Pool then drops items at
// random, so allocation counts through pooled code are not meaningful).
const raceEnabled = true
