package e2e

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// js runs expr in the page and fails the test on an exception.
func js(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr)); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
}

// pick sets the select sel (within the step card step) to value as a user
// would: the change event fires.
func pick(t *testing.T, ctx context.Context, step, sel, value string) {
	t.Helper()
	waitText(t, ctx, `[data-step="`+step+`"] `+sel, func(string) bool { return true })
	js(t, ctx, `(() => { const s = document.querySelector('[data-step="`+step+`"] `+sel+`'); s.value = '`+value+`';
		s.dispatchEvent(new Event('change')); })()`)
}

// fill types v into the console editor's field (its input, cleared first).
func fill(t *testing.T, ctx context.Context, field, v string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#f-`+field))); err != nil {
		t.Fatalf("fill %s: %v", field, err)
	}
	js(t, ctx, `document.getElementById('f-`+field+`').value = ''`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#f-`+field), v)); err != nil {
		t.Fatalf("fill %s: %v", field, err)
	}
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// go to a console page and wait until it has drawn.
func goPage(t *testing.T, ctx context.Context, base, hash, ready string) {
	t.Helper()
	js(t, ctx, `location.hash = '`+hash+`'`)
	waitText(t, ctx, `#page[data-page="`+strings.Split(hash, "/")[0]+`"] `+ready, func(string) bool { return true })
}

// writeToneWAV writes a 44.1 kHz stereo WAV of a tone (what an office's
// recording program makes), for the console's upload.
func writeToneWAV(t *testing.T, hz float64, d time.Duration) string {
	t.Helper()
	const rate = 44100
	n := int(rate * d.Seconds())
	b := make([]byte, 44+4*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+4*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 2)
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*4)
	binary.LittleEndian.PutUint16(b[32:], 4)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(4*n))
	for i := 0; i < n; i++ {
		v := uint16(int16(10000 * math.Sin(2*math.Pi*hz*float64(i)/rate)))
		binary.LittleEndian.PutUint16(b[44+4*i:], v)
		binary.LittleEndian.PutUint16(b[46+4*i:], v)
	}
	path := filepath.Join(t.TempDir(), "billing-menu.wav")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The admin console in Chromium: a queue and an agent are drafted, a
// prompt uploaded, and the demo's menu gets a second level (3, then 1:
// billing) playing it, drafted too; the draft (checked as a whole as it
// grows: the menu's queue exists only in it) is published as one version;
// a SIPp caller then walks the new menu into the new queue and is
// answered by the new agent; the editor shows the call in its steps'
// figures; an edit made stale by someone else's is refused (409) and said
// so; restoring the version before the draft gives the next caller the
// old menu. An item published on its own is a version of its own. Every
// console page is screenshotted.
func TestAdminConsole(t *testing.T) {
	s := startServer(t)
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/admin", "admin", "demo-admin")
	waitText(t, ctx, `#version`, func(v string) bool { return v == "1" })

	// A queue and an agent, drafted.
	goPage(t, ctx, s.http, "queues", `#items`)
	click(t, ctx, `#btn-add`)
	fill(t, ctx, "name", "billing")
	fill(t, ctx, "strategy", "ring_all")
	fill(t, ctx, "ring_timeout", "soon")
	waitText(t, ctx, `#errors`, func(v string) bool { return strings.Contains(v, "queues[billing].ring_timeout") }) // checked as typed
	fill(t, ctx, "ring_timeout", "20s")
	waitText(t, ctx, `#status`, func(v string) bool { return v == "valid" })
	click(t, ctx, `#btn-draft-add`)
	waitText(t, ctx, `#draft-count`, func(v string) bool { return v == "1 change" })
	goPage(t, ctx, s.http, "agents", `#items`)
	click(t, ctx, `#btn-add`)
	fill(t, ctx, "extension", "1005")
	fill(t, ctx, "name", "Eve")
	fill(t, ctx, "password", "demo1005")
	fill(t, ctx, "queues", "billing") // a queue only the draft has
	click(t, ctx, `#f-login_on_register`)
	waitText(t, ctx, `#status`, func(v string) bool { return v == "valid with the draft" })
	click(t, ctx, `#btn-draft-add`)
	waitText(t, ctx, `#draft-count`, func(v string) bool { return v == "2 changes" })
	waitText(t, ctx, `#draft-status`, func(v string) bool { return v == "valid" })
	goPage(t, ctx, s.http, "queues", `#items tr.drafted[data-item="billing"]`)

	// A prompt, uploaded.
	goPage(t, ctx, s.http, "prompts", `#prompts`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#prompt-name`), "billing-menu"),
		chromedp.SetUploadFiles(chromedp.CSS(`#prompt-file`), []string{writeToneWAV(t, 600, 1500*time.Millisecond)})); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `#btn-upload`)
	waitText(t, ctx, `#upload-status`, func(v string) bool { return strings.HasPrefix(v, "saved: billing-menu, 1.5 s") })
	waitText(t, ctx, `#prompts tr[data-prompt="billing-menu"]`, func(v string) bool { return strings.Contains(v, "uploaded (wav)") })

	// The menu's second level: main-menu 3 → a menu playing the prompt,
	// whose 1 → the billing queue.
	goPage(t, ctx, s.http, "flows/main", `#tree [data-step="main-menu"] .figures`) // the figures drawn
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[data-step="main-menu"] .option-key`), "3")); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `[data-step="main-menu"] .add-option`)
	pick(t, ctx, "step-1", ".step-type", "menu")
	click(t, ctx, `[data-step="step-1"] .add-prompt`)
	pick(t, ctx, "step-1", ".pick-prompt", "billing-menu")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[data-step="step-1"] .option-key`), "1")); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `[data-step="step-1"] .add-option`)
	pick(t, ctx, "step-2", ".step-type", "queue")
	waitText(t, ctx, `#flow-status`, func(v string) bool { return v == "draft with problems" }) // a queue step without its queue
	pick(t, ctx, "step-2", ".pick-queue", "billing")
	waitText(t, ctx, `#flow-status`, func(v string) bool { return v == "valid draft, not published" })
	screenshot(t, ctx, "admin-ivr-editor.png")
	click(t, ctx, `#btn-flow-draft`)
	waitText(t, ctx, `#draft-count`, func(v string) bool { return v == "3 changes" })
	waitText(t, ctx, `#draft-status`, func(v string) bool { return v == "valid" })
	screenshot(t, ctx, "admin-draft.png")
	if code := s.api("GET", "/api/v1/config/queues/billing", nil, nil); code != 404 {
		t.Fatalf("a drafted queue is published: %d", code)
	}
	click(t, ctx, `#btn-draft-publish`)
	waitText(t, ctx, `#draft-status`, func(v string) bool { return v == "published as version 2" })
	waitText(t, ctx, `#version`, func(v string) bool { return v == "2" })

	// A caller walks the new menu (3, then 1) into billing; Eve answers.
	eve := tonePhone(t, s, 0, "1005", 1000, 3*time.Second)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 1500, DigitPcap: pcapDir + "/dtmf_2833_3.pcap",
		WaitMS: 2000, Then: []step{{Key: "1"}}, TalkPcap: writeTonePCAP(t, 440, 3*time.Second), TalkMS: 3500})
	caller.mustSucceed(t, 40*time.Second)
	eve.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Queue != "billing" || rec.Agent != "1005" || rec.Outcome != "answered" {
		t.Fatalf("the caller of the new menu: queue %q agent %q outcome %q, events %v", rec.Queue, rec.Agent, rec.Outcome, rec.kinds())
	}

	// The editor shows the call in its steps' figures.
	js(t, ctx, `location.reload()`)
	waitText(t, ctx, `#tree [data-figures="step-1"] .entered`, func(v string) bool { return v == "entered 1" })
	waitText(t, ctx, `#tree [data-figures="main-menu"] .options`, func(v string) bool { return strings.Contains(v, "3: 1 (100%)") })
	waitText(t, ctx, `#funnel [data-end="queue"]`, func(v string) bool { return v == "queue: 1" })

	// Someone else publishes the flow meanwhile: this editor's next
	// publish is refused and says why.
	var flow map[string]any
	if code := s.api("GET", "/api/v1/config/flows/main", nil, &flow); code != 200 {
		t.Fatalf("GET the flow: %d", code)
	}
	flow["steps"].(map[string]any)["step-1"].(map[string]any)["timeout"] = "7s"
	if code := s.api("PUT", "/api/v1/config/flows/main", flow, nil); code != 200 {
		t.Fatalf("PUT the flow: %d", code)
	}
	pick(t, ctx, "step-1", ".pick-prompt", "billing-menu")
	click(t, ctx, `#btn-publish`)
	waitText(t, ctx, `#flow-errors`, func(v string) bool { return strings.Contains(v, "Someone published this flow since you opened it") })

	// Version 1 (before the draft) restored: the next caller pressing 3
	// then 1 gets the old menu, whose 1 is sales.
	goPage(t, ctx, s.http, "versions", `#versions tr[data-version="3"]`)
	click(t, ctx, `#versions tr[data-version="1"] button.restore`)
	waitText(t, ctx, `#version`, func(v string) bool { return v == "4" })
	old := call(t, s, 2, "caller2", callerSpec{Service: "100", PreMS: 1500, DigitPcap: pcapDir + "/dtmf_2833_3.pcap",
		WaitMS: 2000, Then: []step{{Key: "1"}}, TalkMS: 3000})
	old.mustSucceed(t, 40*time.Second)
	again := s.lastCallWhere(t, func(c callRecord) bool { return c.ID != rec.ID })
	if again.Queue != "sales" {
		t.Fatalf("after the restore: queue %q, events %v", again.Queue, again.kinds())
	}

	// An item published on its own is a version of its own.
	goPage(t, ctx, s.http, "queues", `#items`)
	click(t, ctx, `#btn-add`)
	fill(t, ctx, "name", "claims")
	fill(t, ctx, "strategy", "ring_all")
	waitText(t, ctx, `#status`, func(v string) bool { return v == "valid" })
	click(t, ctx, `#btn-save`)
	waitText(t, ctx, `#status`, func(v string) bool { return v == "published as version 5" })

	// A campaign's contact list imported from a file, and the campaign
	// started and paused, from the console.
	campaign := map[string]any{"name": "renewals", "mode": "preview", "queue": "sales", "caller_id": "5550100",
		"window": map[string]string{"start": "08:00", "end": "21:00"}, "max_attempts": 3}
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns", campaign, nil); code != 201 {
		t.Fatalf("create a campaign: %d", code)
	}
	list := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(list, []byte("Phone,name\n5550101,Ann\n5550102,Bo\nnot a number,Cy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goPage(t, ctx, s.http, "campaigns", `#runs tr[data-campaign="renewals"]`)
	row := `#runs tr[data-campaign="renewals"] `
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(row+`.contacts-file`), []string{list}),
		chromedp.SendKeys(chromedp.CSS(row+`.contacts-map`), "Phone:number")); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, row+`.upload-contacts`)
	waitText(t, ctx, `#campaign-status`, func(v string) bool { return strings.HasPrefix(v, "renewals: 2 added, 0 already there, 1 rejected") })
	waitText(t, ctx, row+`.run-state`, func(v string) bool { return v == "stopped" })
	click(t, ctx, row+`.start-campaign`)
	waitText(t, ctx, row+`.run-state`, func(v string) bool { return v == "running" })
	click(t, ctx, row+`.pause-campaign`)
	waitText(t, ctx, row+`.run-state`, func(v string) bool { return v == "paused" })

	// Supervisors allowed to edit queues, from the users page.
	goPage(t, ctx, s.http, "users", `#rights`)
	click(t, ctx, `#right-queues`)
	click(t, ctx, `#btn-rights`)
	waitText(t, ctx, `#roles tr[data-role="supervisor"]`, func(v string) bool { return strings.Contains(v, "queues") })

	// Every page, for a person to look at.
	for _, p := range []struct{ hash, ready string }{
		{"flows", "#flows"}, {"flows/main", `#tree [data-step="main-menu"]`}, {"numbers", "#items"}, {"queues", "#items"},
		{"agents", "#items"}, {"users", "#roles"}, {"hours", "#overrides"}, {"trunks", "#items"}, {"mailboxes", "#items"},
		{"webhooks", "#items"}, {"scorecards", "#items"}, {"campaigns", "#items"}, {"prompts", "#prompts"}, {"versions", "#versions"},
	} {
		goPage(t, ctx, s.http, p.hash, p.ready)
		screenshot(t, ctx, "admin-"+strings.ReplaceAll(p.hash, "/", "-")+".png")
	}
}
