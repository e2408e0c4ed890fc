package node_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// speechFixture reads a fixture of internal/speech/testdata and, for a
// phrase fixture, where its phrase ends (seconds).
func speechFixture(t *testing.T, file string) (pcm []int16, phraseEnd float64) {
	t.Helper()
	dir := "../speech/testdata"
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if pcm, err = media.ParseWAV(data); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "spot.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if row := strings.Split(sc.Text(), "|"); row[0] == file {
			phraseEnd, _ = strconv.ParseFloat(row[3], 64)
		}
	}
	return pcm, phraseEnd
}

// speechNode runs the demo with the speech worker, and waits for it.
func speechNode(t *testing.T) *nodetest.Node {
	worker := nodetest.SpeechWorker(t)
	n := nodetest.Start(t, nodetest.Demo(t, "speech: {engine: worker, live_calls: 2}",
		fmt.Sprintf("speech: {engine: worker, live_calls: 2, worker: %q}", worker)))
	nodetest.WaitFor(t, 30*time.Second, "the speech worker ready", func() bool { return workerStatus(n).Ready })
	return n
}

type workerState struct {
	PID    int  `json:"pid"`
	Ready  bool `json:"ready"`
	Starts int  `json:"starts"`
}

func workerStatus(n *nodetest.Node) workerState {
	var st struct {
		Worker workerState `json:"worker"`
	}
	n.API("GET", "/api/v1/speech/live", nil, &st)
	return st.Worker
}

type liveCue struct {
	Phrase string  `json:"phrase"`
	Cue    string  `json:"cue"`
	Alert  bool    `json:"alert"`
	At     float64 `json:"at"`
}

// cuesOf reads a live call's cues from the API.
func cuesOf(n *nodetest.Node, id string) []liveCue {
	var out struct {
		Cues []liveCue `json:"cues"`
	}
	n.API("GET", "/api/v1/calls/"+id, nil, &out)
	return out.Cues
}

// connectedSalesCall dials 100, keys 1 and waits for agent 1001 to answer.
func connectedSalesCall(t *testing.T, n *nodetest.Node) (*nodetest.Caller, *nodetest.PhoneCall, string) {
	t.Helper()
	alice := n.Phone(t, "1001")
	alice.SetAutoAnswer(true)
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })
	c := n.Dial(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	var id string
	nodetest.WaitFor(t, 5*time.Second, "the call in progress", func() bool {
		for _, r := range n.Calls() {
			if r.Outcome == "in_progress" && r.Agent == "1001" {
				id = r.ID
				return true
			}
		}
		return false
	})
	return c, call, id
}

// TestSpeechSpotsAndTranscribes: a caller says "i want to cancel my
// subscription" on a recorded sales call; the cue reaches the call's live
// view within 2 s of the word's end, and after the call its transcript,
// sentiment and summary are in the API, with the phrase spotted.
func TestSpeechSpotsAndTranscribes(t *testing.T) {
	n := speechNode(t)
	c, call, id := connectedSalesCall(t, n)
	pcm, end := speechFixture(t, "k00.wav")
	said := time.Now()
	c.Play(pcm)
	var cues []liveCue
	nodetest.WaitFor(t, time.Duration(end*float64(time.Second))+10*time.Second, "the cue", func() bool {
		cues = cuesOf(n, id)
		return len(cues) > 0
	})
	late := time.Since(said) - time.Duration(end*float64(time.Second))
	t.Logf("cue %+v %v after the word's end", cues[0], late.Round(10*time.Millisecond))
	if cues[0].Phrase != "cancel" || !strings.Contains(cues[0].Cue, "Retention") {
		t.Fatalf("cues %+v", cues)
	}
	if late > 2*time.Second {
		t.Errorf("the cue came %v after the word (want 2 s at most)", late)
	}
	// A caller asking for a supervisor puts the call on the wallboard's
	// list as an alert, with the caller's sentiment so far.
	sup, _ := speechFixture(t, "k05.wav")
	c.Play(sup)
	var heard struct {
		Calls []struct {
			CallID    string   `json:"call_id"`
			Alert     bool     `json:"alert"`
			Sentiment *float64 `json:"sentiment"`
		} `json:"calls"`
	}
	nodetest.WaitFor(t, 15*time.Second, "the alert on the wallboard's list", func() bool {
		n.API("GET", "/api/v1/speech/live", nil, &heard)
		return len(heard.Calls) == 1 && heard.Calls[0].CallID == id && heard.Calls[0].Alert && heard.Calls[0].Sentiment != nil
	})
	time.Sleep(time.Second)
	c.Hangup()
	call.WaitEnded(t, 5*time.Second)

	var tr struct {
		Utterances []struct {
			Channel string  `json:"channel"`
			Start   float64 `json:"start"`
			End     float64 `json:"end"`
			Text    string  `json:"text"`
		} `json:"utterances"`
		Summary   string `json:"summary"`
		Sentiment *struct {
			Start, End float64
		} `json:"sentiment"`
		Spotted []struct {
			Phrase string `json:"phrase"`
		} `json:"spotted"`
		Automatic bool `json:"automatic"`
	}
	var code int
	nodetest.WaitFor(t, 60*time.Second, "the transcript", func() bool {
		code = n.API("GET", "/api/v1/calls/"+id+"/transcript", nil, &tr)
		return code == 200
	})
	t.Logf("transcript %+v", tr)
	caller := ""
	for _, u := range tr.Utterances {
		if u.Channel == "caller" {
			caller += u.Text + " "
		}
	}
	if !strings.Contains(caller, "cancel") || tr.Summary == "" || tr.Sentiment == nil || !tr.Automatic ||
		len(tr.Spotted) == 0 || tr.Spotted[0].Phrase != "cancel" {
		t.Fatalf("transcript: %+v", tr)
	}
	var hits struct {
		Transcripts []struct {
			CallID string `json:"call_id"`
		} `json:"transcripts"`
	}
	if code := n.API("GET", "/api/v1/transcripts?q=cancel", nil, &hits); code != 200 || len(hits.Transcripts) != 1 || hits.Transcripts[0].CallID != id {
		t.Fatalf("search: %d %+v", code, hits)
	}
}

// TestSpeechWorkerKilledMidCall: killing the worker leaves the call up and
// its audio flowing; the worker is started again and the call is still
// transcribed, from its recording.
func TestSpeechWorkerKilledMidCall(t *testing.T) {
	n := speechNode(t)
	pid := workerStatus(n).PID
	c, call, id := connectedSalesCall(t, n)
	pcm, _ := speechFixture(t, "k03.wav")
	c.Play(pcm)
	time.Sleep(time.Second)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	before := c.RTP.Received()
	time.Sleep(1500 * time.Millisecond)
	if got := c.RTP.Received() - before; got < 50 {
		t.Fatalf("the caller heard %d packets in 1.5 s after the worker died", got)
	}
	select {
	case <-call.Ended():
		t.Fatal("the call ended with the worker")
	default:
	}
	nodetest.WaitFor(t, 30*time.Second, "the worker started again", func() bool {
		st := workerStatus(n)
		return st.Ready && st.Starts >= 2 && st.PID != pid
	})
	c.Play(pcm)
	time.Sleep(time.Duration(len(pcm)/8) * time.Millisecond)
	c.Hangup()
	call.WaitEnded(t, 5*time.Second)
	nodetest.WaitFor(t, 60*time.Second, "the transcript", func() bool {
		return n.API("GET", "/api/v1/calls/"+id+"/transcript", nil, nil) == 200
	})
}

// TestSpokenMenuChoice: a caller who says "support" at the main menu
// reaches support; one who says a sentence is asked again, and keys 1.
func TestSpokenMenuChoice(t *testing.T) {
	n := speechNode(t)
	carol := n.Phone(t, "1003")
	carol.SetAutoAnswer(true)
	alice := n.Phone(t, "1001")
	alice.SetAutoAnswer(true)
	nodetest.WaitFor(t, 5*time.Second, "agents available", func() bool {
		return n.AgentState("1003") == "available" && n.AgentState("1001") == "available"
	})
	say := func(file string) []int16 { pcm, _ := speechFixture(t, file); return pcm }

	c := n.Dial(t, "100")
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.Play(say("m03.wav")) // "support"
	call := carol.NextCall(t, 15*time.Second)
	<-call.Answered()
	c.Hangup()
	call.WaitEnded(t, 5*time.Second)
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Agent == "1003" })
	if rec.Queue != "support" || rec.Digits != "2" {
		t.Fatalf("said support: %+v", rec)
	}

	c = n.Dial(t, "100")
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.Play(say("s08.wav")) // "when will the technician arrive": no choice
	time.Sleep(time.Duration(len(say("s08.wav"))/8)*time.Millisecond + 2*time.Second)
	c.SendDTMF("1")
	call = alice.NextCall(t, 15*time.Second)
	<-call.Answered()
	c.Hangup()
	call.WaitEnded(t, 5*time.Second)
	rec = n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Agent == "1001" })
	if rec.Queue != "sales" || rec.Digits != "1" {
		t.Fatalf("said a sentence, then keyed 1: %+v", rec)
	}
	var ivr struct {
		Flows []struct {
			Steps []struct {
				Step    string `json:"step"`
				Spoken  int    `json:"spoken"`
				Unsure  int    `json:"unsure"`
				Invalid int    `json:"invalid"`
			} `json:"steps"`
		} `json:"flows"`
	}
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	n.API("GET", "/api/v1/reports/ivr?from="+from+"&to="+to, nil, &ivr)
	for _, st := range ivr.Flows[0].Steps {
		if st.Step == "main-menu" && (st.Spoken != 1 || st.Unsure != 1) {
			t.Fatalf("IVR report: %+v", st)
		}
	}
}
