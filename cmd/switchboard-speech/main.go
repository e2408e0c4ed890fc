// Command switchboard-speech is Switchboard's speech worker: PocketSphinx
// (Debian's libpocketsphinx and pocketsphinx-en-us, through cgo) behind
// vosk-server's WebSocket protocol. The server starts it, at a lower CPU
// priority, and restarts it when it dies; a crash here never touches a
// call. A stream's config picks what is done with its audio:
//
//   - {"config": {"sample_rate": 8000}}: transcription (the language
//     model), one final result an utterance, cut at pauses;
//   - "phrase_list": a grammar of just those phrases (spoken menu choices);
//   - "keywords": keyword spotting (Switchboard's addition), a result for
//     each phrase heard, with its times.
package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/speech"
	"github.com/switchboard/switchboard/internal/speech/sphinx"
)

func main() {
	parent := os.Getppid() // before the model loads: a server gone meanwhile is seen
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:2700", "where to listen: host:port, or unix:/path/to/socket")
	flag.StringVar(&o.hmm, "hmm", sphinx.HMM, "the acoustic model's directory")
	flag.StringVar(&o.lm, "lm", sphinx.LM, "the language model (transcription)")
	flag.StringVar(&o.dict, "dict", sphinx.Dict, "the pronunciation dictionary")
	flag.StringVar(&o.mllr, "mllr", builtinMLLR, "an MLLR transform adapting the model to the telephone channel: a file, "+builtinMLLR+" (telephone.mllr, made by scripts/speech-mllr.sh) or none")
	flag.StringVar(&o.search, "search", defaultSearch, "PocketSphinx search limits for transcription (flags and values)")
	flag.Float64Var(&o.kwsThreshold, "kws-threshold", 1e-30, "keyword spotting's threshold for a one-word phrase (lower spots more)")
	flag.Float64Var(&o.noise, "band-noise", defaultNoise, "the noise put in the 4-8 kHz band an 8 kHz call lacks (RMS, 16-bit units)")
	flag.StringVar(&o.spot, "spot", "transcribe", "how a stream's keywords are spotted: transcribe (the words of the running transcription, more accurate) or kws (PocketSphinx's keyword search, cheaper)")
	flag.IntVar(&o.idle, "idle-decoders", 2, "decoders of each kind kept loaded between streams")
	upsample := flag.String("upsample", "", "instead of serving: write IN.wav (8 kHz mono) to OUT.wav at 16 kHz as streams are heard (IN.wav,OUT.wav; for scripts/speech-mllr.sh)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *upsample != "" {
		if err := upsampleFile(*upsample, o.noise); err != nil {
			log.Error("upsample", "err", err)
			os.Exit(1)
		}
		return
	}
	if parent == 1 {
		log.Error("started without a server (its parent is gone)")
		os.Exit(1)
	}
	if err := run(o, parent, log); err != nil {
		log.Error("speech worker", "err", err)
		os.Exit(1)
	}
}

// telephoneMLLR adapts the model to telephone audio as the worker hears it
// (scripts/speech-mllr.sh): word error on the fixtures 38.4 % without it,
// 29.7 % with it.
//
//go:embed telephone.mllr
var telephoneMLLR []byte

const builtinMLLR = "builtin"

// defaultNoise is the level of the noise in the 4-8 kHz band that gave the
// least word error on the fixtures (measured without the MLLR transform).
const defaultNoise = 60

// defaultSearch trades a little accuracy for a third of the CPU (measured
// on the fixtures; BENCHMARKS.md).
const defaultSearch = "-maxhmmpf 10000"

type options struct {
	listen, hmm, lm, dict, mllr, search, spot string
	kwsThreshold, noise                       float64
	idle                                      int
}

func run(o options, parent int, log *slog.Logger) error {
	w, err := newWorker(o, log)
	if err != nil {
		return err
	}
	defer w.close()
	var ln net.Listener
	if path, ok := strings.CutPrefix(o.listen, "unix:"); ok {
		os.Remove(path)
		ln, err = net.Listen("unix", path)
	} else {
		ln, err = net.Listen("tcp", o.listen)
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(w.serve), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go orphaned(ctx, parent, stop, log)
	log.Info("speech worker ready", "listen", o.listen)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func defaultHMM() string  { return sphinx.HMM }
func defaultLM() string   { return sphinx.LM }
func defaultDict() string { return sphinx.Dict }

// orphaned stops the worker once the process that started it is gone (a
// server killed outright: its next run starts a worker of its own).
func orphaned(ctx context.Context, parent int, stop func(), log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				log.Info("the server that started the worker is gone: stopping")
				stop()
				return
			}
		}
	}
}

// upsampleFile writes "in.wav,out.wav": the 8 kHz file at 16 kHz through
// the path a stream's audio takes (speech.Upsampler with the band noise).
func upsampleFile(arg string, noise float64) error {
	in, out, ok := strings.Cut(arg, ",")
	if !ok {
		return fmt.Errorf("want IN.wav,OUT.wav, have %q", arg)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	pcm, err := media.ParseWAV(data)
	if err != nil {
		return err
	}
	u := speech.NewUpsampler()
	u.NoiseRMS = noise
	up := u.Up(nil, pcm)
	b := make([]byte, 44, 44+2*len(up))
	copy(b, media.WAVHeader(1, uint32(2*len(up))))
	binary.LittleEndian.PutUint32(b[24:], 16000) // the header's rates are 8 kHz ones
	binary.LittleEndian.PutUint32(b[28:], 32000)
	for _, v := range up {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return os.WriteFile(out, b, 0o644)
}
