package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
	"github.com/sweephq/sweep/client"
	"github.com/sweephq/sweep/uploader"
)

// The import history pages as integrators expect: has_more says whether
// another page follows (a full last page no longer links to an empty one),
// next keeps the filters, and the history filters by status, source,
// creator and creation time.
func TestImportListPagesAndFilters(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _ := startAPI(t, uploader.Limits{})
	start := time.Now().Add(-time.Minute)
	a, err := c.Upload(ctx, "a.csv", strings.NewReader("action,customerId\nremove,1\n"), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateFromIDs(ctx, []int64{2}, client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third, err := c.CreateFromIDs(ctx, []int64{3}, client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, a.ID)
	waitSettled(t, c, b.ID)
	waitSettled(t, c, third.ID)
	if _, err := c.Cancel(ctx, third.ID); err != nil {
		t.Fatal(err)
	}

	page, err := c.Imports(ctx, client.ListOptions{Limit: 2})
	if err != nil || len(page.Imports) != 2 || !page.HasMore || page.Next == "" || page.Imports[0].ID != third.ID {
		t.Fatalf("first page of 2 = %d imports, has_more %v, next %q (%v); want 2, true, a link", len(page.Imports), page.HasMore, page.Next, err)
	}
	last, err := c.Imports(ctx, client.ListOptions{Limit: 2, Before: page.Imports[1].ID})
	if err != nil || len(last.Imports) != 1 || last.HasMore || last.Next != "" || last.Imports[0].ID != a.ID {
		t.Fatalf("last page = %d imports, has_more %v, next %q (%v); want import %d alone, no more", len(last.Imports), last.HasMore, last.Next, err, a.ID)
	}
	if full, err := c.Imports(ctx, client.ListOptions{Limit: 3}); err != nil || len(full.Imports) != 3 || full.HasMore || full.Next != "" {
		t.Errorf("a page exactly as long as the history: has_more %v, next %q (%v); want no more and no link to an empty page", full.HasMore, full.Next, err)
	}
	for _, tc := range []struct {
		name string
		opts client.ListOptions
		want []int64
	}{
		{"cancelled", client.ListOptions{Statuses: []sweep.Status{sweep.StatusCancelled}}, []int64{third.ID}},
		{"two states", client.ListOptions{Statuses: []sweep.Status{sweep.StatusCancelled, a.Status, sweep.StatusValidated}}, []int64{third.ID, b.ID, a.ID}},
		{"uploads", client.ListOptions{Source: sweep.SourceUpload}, []int64{a.ID}},
		{"id lists", client.ListOptions{Source: sweep.SourceAPI, Limit: 1}, []int64{third.ID}},
		{"by creator", client.ListOptions{CreatedBy: "client-test"}, []int64{third.ID, b.ID, a.ID}},
		{"by another", client.ListOptions{CreatedBy: "someone else"}, nil},
		{"since start", client.ListOptions{CreatedAfter: start}, []int64{third.ID, b.ID, a.ID}},
		{"before start", client.ListOptions{CreatedBefore: start}, nil},
	} {
		got, err := c.Imports(ctx, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []int64
		for _, imp := range got.Imports {
			ids = append(ids, imp.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) {
			t.Errorf("%s: imports %v, want %v", tc.name, ids, tc.want)
		}
	}
	// The next page of a filtered list keeps its filter.
	apiPage, err := c.Imports(ctx, client.ListOptions{Source: sweep.SourceAPI, Limit: 1})
	if err != nil || !strings.Contains(apiPage.Next, "source=api") {
		t.Errorf("next of a filtered page = %q (%v); want it to keep source=api", apiPage.Next, err)
	}
	if _, err := c.Imports(ctx, client.ListOptions{Statuses: []sweep.Status{"done"}}); sweep.ErrorCode(err) != sweep.EINVALID {
		t.Errorf("an unknown status: %v, want refused", err)
	}
}
