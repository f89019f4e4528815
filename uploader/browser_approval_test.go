package uploader_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sweephq/sweep/uploader"
)

// Four eyes in the browser: a requester starts a deletion above the
// threshold and the page says it waits for another person; an approver signs
// in, finds it under Awaiting my approval, mistypes the number (refused),
// types it right, and the run deletes; the timeline names both.
func TestApprovalInABrowser(t *testing.T) {
	t.Parallel()
	a := newAPI(t, uploader.Limits{})
	approver := a.approvals(2)
	bctx, waitFor, text := openBrowser(t)
	signIn := func(token string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("#token")), chromedp.KeyEvent(token+"\r")); err != nil {
			t.Fatal(err)
		}
		waitFor("signing in", `!document.getElementById("history").hidden`)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(a.url+"/")); err != nil {
		t.Fatal(err)
	}
	signIn(a.token)
	file := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(file, []byte("action,customerId\nremove,20\nremove,21\nremove,22\n"), 0o644)
	if err := chromedp.Do(bctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}), chromedp.Click(chromedp.CSS("#upload-button"))); err != nil {
		t.Fatal(err)
	}
	start := `#imports tr[data-id="1"] button[data-action="start"]`
	waitFor("validated", `(() => { const b = document.querySelector('`+start+`'); return !!b && !b.disabled })()`)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(start)), chromedp.WaitVisible(chromedp.CSS("#confirm-yes"))); err != nil {
		t.Fatal(err)
	}
	waitFor("Yes enabled", `!document.getElementById("confirm-yes").disabled`)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#confirm-yes"))); err != nil {
		t.Fatal(err)
	}
	waitFor("the wait for approval", `document.getElementById("notice").textContent.includes("waits for another person's approval") &&
		document.querySelector('#imports tr[data-id="1"] .state').textContent === "awaiting approval"`)
	waitFor("the summary saying who must act", `document.getElementById("detail-summary").textContent.includes("Awaits the approval of another person")`)
	if s := text("#imports"); strings.Contains(s, "Approve") {
		t.Errorf("the requester is offered Approve: %q", s)
	}

	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#sign-out"))); err != nil {
		t.Fatal(err)
	}
	signIn(approver)
	waitFor("Awaiting my approval", `!document.getElementById("approvals").hidden && document.getElementById("approval-list").textContent.includes("3 customers, asked by ops")`)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath("sweep-awaiting-approval.png"), shot, 0o644)
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS("#approval-list button")),
		chromedp.WaitVisible(chromedp.CSS("#decide-count")),
	); err != nil {
		t.Fatal(err)
	}
	// The approver sees the impact the requester saw, before approving.
	waitFor("the impact in front of the approver", `document.getElementById("decide-impact").textContent.includes("3 customers") &&
		!document.getElementById("approve-yes").disabled`)
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS("#decide-count"), "30"),
		chromedp.Click(chromedp.CSS("#approve-yes")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("a wrong count refused", `document.getElementById("notice").textContent.includes("type the number of customers")`)
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (20, 21, 22)`, tenant); n != 3 {
		t.Fatalf("%d of 3 customers left after a refused approval", n)
	}
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#decide-count"), ""),
		chromedp.SendKeys(chromedp.CSS("#decide-count"), "3"),
		chromedp.Click(chromedp.CSS("#approve-yes")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("completed after the approval", `document.querySelector('#imports tr[data-id="1"] .state').textContent === "completed"`)
	waitFor("the timeline naming both", `document.getElementById("timeline").textContent.includes("risk lead — approved: 3 customers") &&
		document.getElementById("timeline").textContent.includes("ops — approval asked for 3 customers")`)
	if n := a.count(`SELECT count(*) FROM customers WHERE tenant_id = $1 AND id IN (20, 21, 22)`, tenant); n != 0 {
		t.Errorf("%d of 3 customers left after the approved run", n)
	}
	// On a 1,280 × 800 screen every button of the history is whole, none
	// cut off by the table's edge.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	waitFor("the desktop layout", `window.innerWidth === 1280`)
	cut, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`(() => {
		const wrap = document.querySelector("#history .table-wrap").getBoundingClientRect();
		return [...document.querySelectorAll("#imports button")].filter((b) => {
			const r = b.getBoundingClientRect();
			return r.width === 0 || r.right > wrap.right + 1 || r.left < wrap.left - 1;
		}).map((b) => b.textContent);
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cut) > 0 {
		t.Errorf("buttons cut off at 1,280 px: %q", cut)
	}
	onAPhone(t, bctx, waitFor, "sweep-approval-phone.png")
}
