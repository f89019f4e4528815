package uploader_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/sweephq/sweep/internal/testenv"
	"github.com/sweephq/sweep/uploader"
)

// screenshotPath is where the browser test leaves its screenshots:
// SWEEP_SCREENSHOT_DIR, else the system's temporary directory.
func screenshotPath(name string) string {
	dir := os.Getenv("SWEEP_SCREENSHOT_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, name)
}

// openBrowser starts headless Chromium with a 1,280-pixel-wide window, and
// returns its context, waitFor (polls a JavaScript condition until it is
// true, failing the test with the page's text) and text (of a CSS selector).
func openBrowser(t *testing.T) (context.Context, func(what, js string), func(sel string) string) {
	t.Helper()
	chromium := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	waitFor := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, page)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	return ctx, waitFor, text
}

// An operator's whole flow in a real browser: sign in with the keyboard, read
// the instructions, upload a file with bad rows, see the errors, download the
// failed rows, upload the fixed file, start it, watch the bar reach 100 % and
// the state completed; then the same page on a phone-sized screen.
func TestImportScreenInABrowser(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	downloads := t.TempDir()
	ctx, waitFor, text := openBrowser(t)

	done := make(chan string, 4)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				done <- ev.GUID
			}
		}
	}()

	// Sign in with the keyboard only: the token field has the focus.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			yes := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes,
			})
			return err
		}),
		chromedp.WaitVisible(chromedp.CSS("#token")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the instructions", `document.querySelectorAll("#rules li").length >= 5`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(a.token+"\r")); err != nil {
		t.Fatal(err)
	}
	waitFor("signing in", `!document.getElementById("upload").hidden && document.getElementById("who-text").textContent.includes("5200243")`)
	// Two tabs, as on the platform's own Import screen: signed in, Upload &
	// history is open; Instructions & samples is a click (or an arrow key)
	// away and back.
	visible := func(id string) string {
		return `(document.getElementById("` + id + `").getBoundingClientRect().height > 0)`
	}
	waitFor("Upload & history open", visible("upload")+` && !`+visible("instructions")+
		` && document.getElementById("tab-work").getAttribute("aria-selected") === "true"`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tab-instructions"))); err != nil {
		t.Fatal(err)
	}
	waitFor("Instructions & samples open", visible("instructions")+` && !`+visible("upload"))
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
		t.Fatal(err)
	}
	waitFor("back to Upload & history with the arrow key", visible("upload")+` && document.activeElement.id === "tab-work"`)

	// A file with bad rows: a letter in an id, a customer linked to a loan, an unknown id.
	bad := filepath.Join(t.TempDir(), "customers.csv")
	os.WriteFile(bad, []byte("action,customerId\nremove,10\nremove,1O\nremove,7\nremove,11\nremove,99999\n"), 0o644)
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}),
		chromedp.Click(chromedp.CSS("#upload-button")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the row errors", `document.querySelectorAll("#errors tr").length === 3`)
	errs := text("#errors")
	for _, want := range []string{"1O", "linked to a loan", "99999"} {
		if !strings.Contains(errs, want) {
			t.Errorf("error table lacks %q:\n%s", want, errs)
		}
	}
	if s := text("#imports"); !strings.Contains(s, "validated") || !strings.Contains(s, "3 errors") {
		t.Errorf("history row = %q; want validated with 3 errors", s)
	}
	// The API says the import awaits its operator and has no run yet: the
	// page asks for Start and offers no results.
	if s := text("#detail-summary"); !strings.Contains(s, "then press Start") {
		t.Errorf("summary of a validated import = %q; want the hint to press Start", s)
	}
	waitFor("no results download before a run", `document.getElementById("download-results").hidden`)

	// Download the failed rows.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#download-failed"))); err != nil {
		t.Fatal(err)
	}
	var failed string
	select {
	case guid := <-done:
		failed = filepath.Join(downloads, guid)
	case <-time.After(30 * time.Second):
		t.Fatal("the failed rows were not downloaded")
	}
	b, err := os.ReadFile(failed)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[0] != "action,customerId,line,error" || !strings.HasPrefix(lines[1], "remove,1O,3,") {
		t.Fatalf("failed rows file:\n%s", b)
	}

	// Fix the downloaded file as an operator does, in place: correct the two
	// ids, take out the row of the customer linked to a loan, and add the
	// rest; the line and error columns stay (they are ignored).
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var edited [][]string
	for _, r := range rows {
		switch r[1] {
		case "1O":
			r[1] = "12"
		case "99999":
			r[1] = "13"
		case "7":
			continue
		}
		edited = append(edited, r)
	}
	edited = append(edited, []string{"remove", "10", "", ""}, []string{"remove", "11", "", ""}, []string{"remove", "14", "", ""})
	var fixedFile bytes.Buffer
	if err := csv.NewWriter(&fixedFile).WriteAll(edited); err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(t.TempDir(), "customers-fixed.csv")
	if err := os.WriteFile(fixed, fixedFile.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Upload the edited file, start it from its row, confirm.
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{fixed}),
		chromedp.Click(chromedp.CSS("#upload-button")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the fixed file validated", `(() => { const b = document.querySelector('#imports tr[data-id="2"] button[data-action="start"]'); return !!b && !b.disabled })()`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#imports tr[data-id="2"] button[data-action="start"]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-yes")),
	); err != nil {
		t.Fatal(err)
	}
	if s := text("#confirm-text"); !strings.Contains(s, "Delete 5 customers") {
		t.Errorf("confirmation = %q", s)
	}
	// Yes waits until the Start box shows the impact, which fits a phone.
	waitFor("the impact in the Start box", `document.getElementById("confirm-impact").textContent.includes("5 customers and 65 related rows") &&
		document.getElementById("confirm-impact").textContent.includes("public.customer_phones deleted 10") &&
		!document.getElementById("confirm-yes").disabled`)
	onAPhone(t, ctx, waitFor, "sweep-start-impact-phone.png")
	if err := chromedp.Do(ctx, chromedp.ResetViewport()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm-yes"))); err != nil {
		t.Fatal(err)
	}
	waitFor("the bar at 100 % and completed", `(() => {
		const row = document.querySelector('#imports tr[data-id="2"]');
		const bar = row && row.querySelector("progress");
		return !!bar && bar.value === 100 && row.querySelector(".state").textContent === "completed" })()`)
	waitFor("the results download of the completed import", `!document.getElementById("download-results").hidden`)
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 10 AND 14`, tenant); n != 0 {
		t.Errorf("%d of the 5 customers are still there", n)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := screenshotPath("sweep-import-screen.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	onAPhone(t, ctx, waitFor, "sweep-import-screen-phone.png")
}

// onAPhone shows the page on a phone-sized screen, fails the test when
// anything is wider than the screen, and saves a screenshot as name.
func onAPhone(t *testing.T, ctx context.Context, waitFor func(what, js string), name string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	// The page has the phone's width (reading clientWidth lays it out anew).
	waitFor("the phone layout", `window.innerWidth === 390 && document.documentElement.clientWidth <= 390`)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the page is wider than a 390 px phone screen")
	}
	os.WriteFile(screenshotPath(name), shot, 0o644)
}
