package node

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// loadSounds is the library a setup plays from: the node's own (tests),
// or the setup's sounds directory (or the built-in demo sounds), with the
// prompts uploaded through the console over them.
func (n *Node) loadSounds(cfg *config.Config) (*media.Library, error) {
	sounds := n.opts.sounds
	if sounds == nil {
		var err error
		if sounds, err = LoadSounds(cfg); err != nil {
			return nil, err
		}
	}
	if n.st == nil {
		return sounds, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := addPrompts(ctx, n.st, sounds); err != nil {
		return nil, err
	}
	return sounds, nil
}

// addPrompts adds the store's prompts to lib.
func addPrompts(ctx context.Context, st *store.Store, lib *media.Library) error {
	list, err := st.Prompts(ctx, true)
	if err != nil {
		return fmt.Errorf("node: the uploaded prompts: %w", err)
	}
	for _, p := range list {
		pcm, err := media.ParseWAV(p.WAV)
		if err != nil {
			return fmt.Errorf("node: prompt %s: %w", p.Name, err)
		}
		lib.Add(media.NewSound(p.Name, pcm))
	}
	return nil
}

// promptName is what a prompt may be called: a sound's name in the setup.
var promptName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// prompts gives the API the node's uploaded prompts.
type prompts struct{ n *Node }

func (p prompts) List(ctx context.Context) ([]api.PromptInfo, error) {
	stored, err := p.n.st.Prompts(ctx, false)
	if err != nil {
		return nil, err
	}
	uses := p.n.current().Sounds()
	var out []api.PromptInfo
	seen := map[string]bool{}
	for _, s := range stored {
		seen[s.Name] = true
		out = append(out, api.PromptInfo{Prompt: s, Uploaded: true, InUse: slices.Contains(uses, s.Name)})
	}
	for _, name := range p.n.sounds.Names() {
		if seen[name] {
			continue
		}
		s, _ := p.n.sounds.Get(name)
		out = append(out, api.PromptInfo{Prompt: store.Prompt{Name: name, Format: "wav", Seconds: float64(s.Frames()) / 50}, InUse: slices.Contains(uses, name)})
	}
	slices.SortFunc(out, func(a, b api.PromptInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

func (p prompts) Save(ctx context.Context, name string, data []byte, by string) (store.Prompt, error) {
	if !promptName.MatchString(name) {
		return store.Prompt{}, fmt.Errorf("%w: %q: a prompt's name is 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit", api.ErrBadPrompt, name)
	}
	pcm, format, err := media.ConvertAudio(data)
	if err != nil {
		return store.Prompt{}, fmt.Errorf("%w: %v", api.ErrBadPrompt, err)
	}
	wav := media.EncodeWAV(pcm)
	sp := store.Prompt{Name: name, WAV: wav, Format: format, At: time.Now().UTC(), Actor: by}
	// Under the setup's lock: a setup applied at the same time (which
	// reads the prompts from the store) does not put older audio back.
	p.n.reloadMu.Lock()
	defer p.n.reloadMu.Unlock()
	if err := p.n.st.SavePrompt(ctx, sp); err != nil {
		return store.Prompt{}, err
	}
	p.n.sounds.Add(media.NewSound(name, pcm))
	p.n.log.Info("prompt saved", "name", name, "format", format, "seconds", float64(len(pcm))/media.SampleRate, "by", by)
	sp.WAV, sp.Seconds = nil, float64(len(pcm))/media.SampleRate
	return sp, nil
}

func (p prompts) Audio(ctx context.Context, name string) ([]byte, bool, error) {
	sp, ok, err := p.n.st.PromptN(ctx, name)
	if err != nil || ok {
		return sp.WAV, ok, err
	}
	s, ok := p.n.sounds.Get(name)
	if !ok {
		return nil, false, nil
	}
	return media.EncodeWAV(s.PCM()), true, nil
}

func (p prompts) Delete(ctx context.Context, name, by string) error {
	// Under the setup's lock: no setup naming it is published meanwhile.
	p.n.reloadMu.Lock()
	defer p.n.reloadMu.Unlock()
	if slices.Contains(p.n.current().Sounds(), name) {
		return fmt.Errorf("%w: the setup plays %q; change what plays it first", api.ErrPromptInUse, name)
	}
	found, err := p.n.st.DeletePrompt(ctx, name)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %q was not uploaded (the sounds directory's files stay)", api.ErrNoPrompt, name)
	}
	p.n.log.Info("prompt removed", "name", name, "by", by)
	// Gone from what the setup may name (a call playing it finishes it);
	// a sounds directory's file of that name plays again.
	p.n.sounds.Remove(name)
	files, err := LoadSounds(p.n.current())
	if err != nil {
		p.n.log.Warn("sounds directory not read again", "err", err)
		return nil
	}
	if s, ok := files.Get(name); ok {
		p.n.sounds.Add(s)
	}
	return nil
}
