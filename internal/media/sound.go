package media

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// Sound is audio ready to send: encoded once per codec in 20 ms frames.
type Sound struct {
	Name string
	pcmu []byte
	pcma []byte
}

// NewSound encodes linear samples for every codec, padding the last frame with silence.
func NewSound(name string, pcm []int16) *Sound {
	n := (len(pcm) + FrameSamples - 1) / FrameSamples * FrameSamples
	padded := make([]int16, n)
	copy(padded, pcm)
	s := &Sound{Name: name, pcmu: make([]byte, n), pcma: make([]byte, n)}
	Encode(PCMU, s.pcmu, padded)
	Encode(PCMA, s.pcma, padded)
	return s
}

// Frames returns how many 20 ms frames the sound lasts.
func (s *Sound) Frames() int { return len(s.pcmu) / FrameSamples }

// Frame returns the i-th 20 ms frame encoded as c (tests compare what was heard).
func (s *Sound) Frame(c Codec, i int) []byte { return s.frame(c, i) }

// frame returns the i-th 20 ms frame encoded as c.
func (s *Sound) frame(c Codec, i int) []byte {
	b := s.pcmu
	if c == PCMA {
		b = s.pcma
	}
	return b[i*FrameSamples : (i+1)*FrameSamples]
}

// Library holds the sounds a setup plays, by name.
type Library struct {
	mu     sync.RWMutex
	sounds map[string]*Sound
}

// LoadLibrary reads every NAME.wav in dir of fsys.
func LoadLibrary(fsys fs.FS, dir string) (*Library, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read sounds: %w", err)
	}
	lib := &Library{sounds: map[string]*Sound{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wav") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read sound %s: %w", e.Name(), err)
		}
		pcm, err := ParseWAV(data)
		if err != nil {
			return nil, fmt.Errorf("sound %s: %w", e.Name(), err)
		}
		name := strings.TrimSuffix(e.Name(), ".wav")
		lib.sounds[name] = NewSound(name, pcm)
	}
	return lib, nil
}

// Get returns the named sound.
func (l *Library) Get(name string) (*Sound, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.sounds[name]
	return s, ok
}

// Add puts a sound in the library (tests and generated tones).
func (l *Library) Add(s *Sound) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sounds == nil {
		l.sounds = map[string]*Sound{}
	}
	l.sounds[s.Name] = s
}

// Update adds every sound of from, replacing those of the same name (a
// setup reloaded with new sound files). A sound playing keeps playing as
// it was; none is removed, so a call never loses the prompt it is at.
func (l *Library) Update(from *Library) {
	from.mu.RLock()
	defer from.mu.RUnlock()
	for _, s := range from.sounds {
		l.Add(s)
	}
}

// Remove takes the named sound out of the library (a call playing it
// keeps playing it).
func (l *Library) Remove(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sounds, name)
}

// Names lists the library's sounds, sorted.
func (l *Library) Names() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.sounds))
	for n := range l.sounds {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// PCM is the sound as 8 kHz linear samples (decoded from its µ-law
// frames, as a caller hears it), padded to whole frames.
func (s *Sound) PCM() []int16 {
	out := make([]int16, len(s.pcmu))
	Decode(PCMU, out, s.pcmu)
	return out
}
