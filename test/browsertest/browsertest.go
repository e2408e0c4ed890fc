// Package browsertest drives Debian's Chromium (headless, through
// chromedp) for the end-to-end tests of the web pages: test/ and
// test/cluster share it.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Start starts headless Chromium for one test, with flags added ("name"
// or "name=value"); the test is skipped when Chromium is missing, unless
// CI is set. The context it returns ends 90 s after the start.
func Start(t *testing.T, flags ...string) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (the README's test command installs it)")
		}
		t.Skip("chromium not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if ok {
			opts = append(opts, chromedp.Flag(k, v))
		} else {
			opts = append(opts, chromedp.Flag(k, true))
		}
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelC := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser: no timeout on this one
		cancelC()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// Login opens url and fills the page's login form (fields labelled
// Username and Password), checking the labels.
func Login(t *testing.T, ctx context.Context, url, user, pass string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#login label')].map(l => l.textContent + '→' + document.getElementById(l.htmlFor).name)`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), pass),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#app`)),
	)
	if err != nil {
		t.Fatalf("login at %s: %v", url, err)
	}
	if strings.Join(labels, ",") != "Username→username,Password→password" {
		t.Fatalf("login labels %q", labels)
	}
}

// WaitText waits up to 15 s until the element's text satisfies ok, and
// returns it.
func WaitText(t *testing.T, ctx context.Context, sel string, ok func(string) bool) string {
	t.Helper()
	// Read in one evaluation: a page that redraws the element between a
	// lookup and a read (the wallboard replaces its rows) is read again,
	// not a failure.
	q, _ := json.Marshal(sel)
	js := `(() => { const e = document.querySelector(` + string(q) + `); return e ? e.innerText : null })()`
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](js))
		s := ""
		if v != nil {
			s = strings.TrimSpace(*v)
		}
		if err == nil && v != nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			// What the page says is wrong, to tell why.
			alerts, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[role=alert]')].map(e => e.innerText.trim()).filter(x => x).join(' | ')`))
			t.Fatalf("%s reads %q (present %v, %v); the page's alerts: %q", sel, s, v != nil, err, alerts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
