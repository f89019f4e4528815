package sweep_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sweephq/sweep"
)

// predicates is what every predicate says of one import.
type predicates struct {
	StatusSettled, HasRun                   bool
	StartsByItself, AwaitsOperator, Settled bool
}

func predicatesOf(imp sweep.Import) predicates {
	return predicates{
		StatusSettled: imp.Status.Settled(), HasRun: imp.Status.HasRun(),
		StartsByItself: imp.StartsByItself(), AwaitsOperator: imp.AwaitsOperator(), Settled: imp.Settled(),
	}
}

// Every status, for an upload an operator starts by hand: only the ended
// states, rejected, validated, awaiting_approval and paused are settled; a
// person is awaited in the last four.
func TestPredicatesOfEveryStatus(t *testing.T) {
	want := map[sweep.Status]predicates{
		sweep.StatusUploaded:            {},
		sweep.StatusValidating:          {},
		sweep.StatusValidated:           {AwaitsOperator: true, Settled: true},
		sweep.StatusAwaitingApproval:    {AwaitsOperator: true, Settled: true},
		sweep.StatusQueued:              {HasRun: true},
		sweep.StatusRunning:             {HasRun: true},
		sweep.StatusPaused:              {HasRun: true, AwaitsOperator: true, Settled: true},
		sweep.StatusCompleted:           {StatusSettled: true, HasRun: true, Settled: true},
		sweep.StatusCompletedWithErrors: {StatusSettled: true, HasRun: true, Settled: true},
		sweep.StatusRejected:            {StatusSettled: true, AwaitsOperator: true, Settled: true},
		sweep.StatusCancelled:           {StatusSettled: true, HasRun: true, Settled: true},
		sweep.StatusFailed:              {StatusSettled: true, Settled: true},
	}
	if len(want) != len(sweep.Statuses) {
		t.Fatalf("the table has %d statuses; sweep.Statuses has %d", len(want), len(sweep.Statuses))
	}
	for _, s := range sweep.Statuses {
		w, ok := want[s]
		if !ok {
			t.Errorf("status %s is missing from the table", s)
			continue
		}
		got := predicatesOf(sweep.Import{Status: s, Source: sweep.SourceUpload})
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s, diff)
		}
		// A settled status settles every import in it.
		if s.Settled() && !(&sweep.Import{Status: s}).Settled() {
			t.Errorf("%s: Status.Settled but not Import.Settled", s)
		}
	}
	if (sweep.Status("bogus")).Settled() || (sweep.Status("bogus")).HasRun() {
		t.Error("an unknown status is settled or has a run")
	}
}

// A validated import that starts by itself is neither settled nor awaiting
// anyone; one that does not, awaits its operator. Auto start matters only in
// validated.
func TestPredicatesOfValidatedImports(t *testing.T) {
	tests := []struct {
		name string
		imp  sweep.Import
		want predicates
	}{
		{"upload without auto start", sweep.Import{Source: sweep.SourceUpload},
			predicates{AwaitsOperator: true, Settled: true}},
		{"upload with auto start, no row errors", sweep.Import{Source: sweep.SourceUpload, AutoStart: true},
			predicates{StartsByItself: true}},
		{"upload with auto start and row errors", sweep.Import{Source: sweep.SourceUpload, AutoStart: true, ErrorRows: 2},
			predicates{AwaitsOperator: true, Settled: true}},
		{"upstream request with row errors", sweep.Import{Source: sweep.SourceUpstream, AutoStart: true, ErrorRows: 2},
			predicates{StartsByItself: true}},
		{"cleanup batch with row errors", sweep.Import{Source: sweep.SourceSchedule, AutoStart: true, ErrorRows: 1},
			predicates{StartsByItself: true}},
		{"cleanup dry run", sweep.Import{Source: sweep.SourceSchedule},
			predicates{AwaitsOperator: true, Settled: true}},
	}
	for _, tt := range tests {
		tt.imp.Status = sweep.StatusValidated
		if diff := cmp.Diff(tt.want, predicatesOf(tt.imp)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, s := range sweep.Statuses {
		if s == sweep.StatusValidated {
			continue
		}
		by := sweep.Import{Status: s, Source: sweep.SourceUpload, AutoStart: true}
		hand := sweep.Import{Status: s, Source: sweep.SourceUpload}
		if diff := cmp.Diff(predicatesOf(hand), predicatesOf(by)); diff != "" {
			t.Errorf("%s: auto start changes the predicates (-without +with):\n%s", s, diff)
		}
	}
}
