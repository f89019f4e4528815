package uploader_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/uploader"
)

// A lead holds every run from the page with a reason; an upload that starts
// by itself then waits, its row saying why at a glance; it is paused and
// resumed from its row; released, it runs to the end.
func TestHeldRunInABrowser(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	lead, _, err := a.db.CreateToken(context.Background(), tenant, "lead",
		[]sweep.Scope{sweep.ScopeImportsRead, sweep.ScopeImportsWrite, sweep.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	ctx, waitFor, text := openBrowser(t)
	row := `document.querySelector('#imports tr[data-id="1"]')`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.KeyEvent(lead+"\r"),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the throttle panel", `!document.getElementById("throttle").hidden && !document.getElementById("hold-form").hidden`)
	if s := text("#throttle-text"); !strings.Contains(s, "Runs may delete") {
		t.Errorf("panel before the hold = %q", s)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#hold-reason"), "month-end close"),
		chromedp.Click(chromedp.CSS("#hold-runs")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the hold", `document.getElementById("throttle-text").textContent.includes("Runs are held") && !document.getElementById("release-runs").hidden`)

	file := filepath.Join(t.TempDir(), "customers.csv")
	os.WriteFile(file, []byte("action,customerId\nremove,20\nremove,21\nremove,22\n"), 0o644)
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#auto-start")),
		chromedp.Click(chromedp.CSS("#upload-button")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the row saying why it waits", `(() => { const r = `+row+`; const h = r && r.querySelector("small.held");
		return !!h && h.textContent.includes("held by lead: month-end close") && r.querySelector(".state").textContent === "queued" })()`)
	// The import's view follows the row within the same refresh.
	waitFor("the summary saying why it waits", `document.getElementById("detail-summary").textContent.includes("Held: all of this tenant's runs held by lead: month-end close since")`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath("sweep-held-run.png"), shot, 0o644)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#imports tr[data-id="1"] button[data-action="pause"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor("paused", `(() => { const r = `+row+`; return r.querySelector(".state").textContent === "paused" && !r.querySelector("small.held") })()`)
	waitFor("resume offered", `(() => { const b = document.querySelector('#imports tr[data-id="1"] button[data-action="resume"]'); return !!b && !b.disabled })()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#imports tr[data-id="1"] button[data-action="resume"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor("held again after resuming", `(() => { const r = `+row+`; return r.querySelector(".state").textContent === "queued" && !!r.querySelector("small.held") })()`)
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 20 AND 22`, tenant); n != 3 {
		t.Fatalf("%d of 3 customers left while held; want all", n)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#release-runs"))); err != nil {
		t.Fatal(err)
	}
	waitFor("completed after the release", `(() => { const r = `+row+`; return r.querySelector(".state").textContent === "completed" && !r.querySelector("small.held") })()`)
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id BETWEEN 20 AND 22`, tenant); n != 0 {
		t.Errorf("%d of 3 customers left after the run", n)
	}
	onAPhone(t, ctx, waitFor, "sweep-held-run-phone.png")
}
