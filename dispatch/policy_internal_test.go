package dispatch

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every row of decide, in its order, with the facts that reach it.
func TestDecideRows(t *testing.T) {
	for _, tc := range []struct {
		row  string
		f    facts
		want action
	}{
		{"1 run ending, lost", facts{outcome: attemptLost, runEnding: true, lostLeft: true}, actStop},
		{"1 run ending, failed", facts{outcome: attemptFailed, runEnding: true, retryLeft: true}, actStop},
		{"1 run ending, fatal", facts{outcome: attemptFatal, runEnding: true}, actStop},
		{"1 run ending, duplicate", facts{outcome: attemptDuplicate, runEnding: true}, actStop},
		{"1 run ending, cancelled after a failed stall probe", facts{outcome: attemptCancelled, runEnding: true, hostGone: true, lostLeft: true}, actStop},
		{"2a settled, cancelled after a failed stall probe", facts{outcome: attemptCancelled, settled: true, hostGone: true, lostLeft: true}, actLostSettled},
		{"2a settled, cancelled after a failed stall probe, lost budget irrelevant", facts{outcome: attemptCancelled, settled: true, hostGone: true}, actLostSettled},
		{"2 settled, failed", facts{outcome: attemptFailed, settled: true, retryLeft: true}, actDiscard},
		{"2 settled, lost", facts{outcome: attemptLost, settled: true, lostLeft: true}, actDiscard},
		{"2 settled, fatal", facts{outcome: attemptFatal, settled: true}, actDiscard},
		{"2 settled, timed out, probe refused", facts{outcome: attemptTimedOut, settled: true, probe: probeRefused}, actDiscard},
		{"2 duplicate", facts{outcome: attemptDuplicate}, actDiscard},
		{"2 cancelled", facts{outcome: attemptCancelled}, actDiscard},
		{"3 fatal", facts{outcome: attemptFatal}, actFatal},
		{"4 resumed", facts{outcome: attemptResumed}, actResume},
		{"4 resumed while the run ends", facts{outcome: attemptResumed, runEnding: true}, actResume},
		{"5 committed", facts{outcome: attemptCommitted}, actCommit},
		{"5 committed while the run ends", facts{outcome: attemptCommitted, runEnding: true}, actCommit},
		{"5 committed with copies running", facts{outcome: attemptCommitted, copies: true}, actCommit},
		{"6 timed out, probe refused", facts{outcome: attemptTimedOut, probe: probeRefused, lostLeft: true, retryLeft: true}, actRefused},
		{"7 lost too often", facts{outcome: attemptLost}, actLostGiveUp},
		{"7 lost too often, with copies", facts{outcome: attemptLost, copies: true}, actLostGiveUp},
		{"7 timed out, host unreachable, too often", facts{outcome: attemptTimedOut, probe: probeUnreachable}, actLostGiveUp},
		{"7 stalled, host failed its probe, too often", facts{outcome: attemptCancelled, hostGone: true}, actLostGiveUp},
		{"8 lost, a copy runs", facts{outcome: attemptLost, lostLeft: true, copies: true}, actLostWait},
		{"8 timed out, host went down, a copy runs", facts{outcome: attemptTimedOut, probe: probeHostDown, lostLeft: true, copies: true}, actLostWait},
		{"8 stalled, host failed its probe, a copy runs", facts{outcome: attemptCancelled, hostGone: true, lostLeft: true, copies: true}, actLostWait},
		{"9 lost", facts{outcome: attemptLost, lostLeft: true}, actLostRequeue},
		{"9 lost, retries used up (lost is not failed)", facts{outcome: attemptLost, lostLeft: true, retryLeft: false}, actLostRequeue},
		{"9 timed out, host unreachable", facts{outcome: attemptTimedOut, probe: probeUnreachable, lostLeft: true}, actLostRequeue},
		{"9 timed out, host went down", facts{outcome: attemptTimedOut, probe: probeHostDown, lostLeft: true}, actLostRequeue},
		{"9 stalled, host failed its probe", facts{outcome: attemptCancelled, hostGone: true, lostLeft: true, retryLeft: false}, actLostRequeue},
		{"10 failed, a copy runs", facts{outcome: attemptFailed, copies: true}, actRetryWait},
		{"10 timed out on a healthy host, a copy runs", facts{outcome: attemptTimedOut, probe: probeAnswered, copies: true}, actRetryWait},
		{"11 failed, retries left", facts{outcome: attemptFailed, retryLeft: true}, actRetry},
		{"11 timed out on a healthy host, retries left", facts{outcome: attemptTimedOut, probe: probeAnswered, retryLeft: true}, actRetry},
		{"12 failed, fail fast", facts{outcome: attemptFailed}, actFailStop},
		{"12 failed, fail fast, over share", facts{outcome: attemptFailed, overShare: true}, actFailStop},
		{"12 timed out on a healthy host, fail fast", facts{outcome: attemptTimedOut, probe: probeAnswered}, actFailStop},
		{"13 failed, keep going, over share", facts{outcome: attemptFailed, keepGoing: true, overShare: true}, actFailShareStop},
		{"14 failed, keep going", facts{outcome: attemptFailed, keepGoing: true}, actFailContinue},
		{"14 failed, keep going, lost budget irrelevant", facts{outcome: attemptFailed, keepGoing: true, lostLeft: false}, actFailContinue},
	} {
		t.Run(tc.row, func(t *testing.T) {
			assert.Equal(t, tc.want, decide(tc.f))
		})
	}
}

// decide is total over the final states: it never panics, and every action
// is reachable; the properties the rows promise hold for every combination.
func TestDecideEveryCombination(t *testing.T) {
	final := []attemptState{attemptCommitted, attemptResumed, attemptDuplicate, attemptCancelled,
		attemptLost, attemptFailed, attemptTimedOut, attemptFatal}
	probes := []probeVerdict{probeNone, probeAnswered, probeHostDown, probeUnreachable, probeRefused}
	seen := map[action]bool{}
	for _, o := range final {
		for _, p := range probes {
			if (o == attemptTimedOut) != (p != probeNone) {
				continue // only a timeout has a probe verdict
			}
			for bits := 0; bits < 1<<8; bits++ {
				b := func(i int) bool { return bits&(1<<i) != 0 }
				f := facts{outcome: o, probe: p, runEnding: b(0), settled: b(1), copies: b(2),
					lostLeft: b(3), retryLeft: b(4), keepGoing: b(5), overShare: b(6), hostGone: b(7)}
				var a action
				assert.NotPanics(t, func() { a = decide(f) }, "%+v", f)
				seen[a] = true
				name := fmt.Sprintf("%+v -> %v", f, a)
				success := o == attemptCommitted || o == attemptResumed
				if success {
					// A success always counts, whatever else holds.
					assert.Contains(t, []action{actCommit, actResume}, a, name)
				}
				if !success && f.runEnding {
					assert.Equal(t, actStop, a, name)
				}
				if a == actRetry || a == actLostRequeue {
					assert.False(t, f.copies, "a chunk with a copy running is not queued again: %s", name)
				}
				if a == actRetry {
					assert.True(t, f.retryLeft, name)
				}
			}
		}
	}
	for a := actStop; a <= actLostSettled; a++ {
		assert.True(t, seen[a], "action %v is never chosen", a)
	}
}

func TestStateAndActionNames(t *testing.T) {
	for s := attemptRunning; s <= attemptFatal; s++ {
		assert.NotContains(t, s.String(), "state(", "state %d has no name", int(s))
	}
	for a := actStop; a <= actLostSettled; a++ {
		assert.NotContains(t, a.String(), "action(", "action %d has no name", int(a))
	}
	assert.Equal(t, "state(99)", attemptState(99).String())
	assert.Equal(t, "action(99)", action(99).String())
}

// supersede marks a running attempt and cancels it; an attempt that already
// has its outcome keeps it.
func TestAttemptTransitions(t *testing.T) {
	cancelled := 0
	a := &attempt{state: attemptRunning, cancel: func() { cancelled++ }}
	a.supersede()
	assert.Equal(t, attemptSuperseded, a.state)
	a.res.outcome = attemptCancelled
	a.end()
	assert.Equal(t, attemptCancelled, a.state)
	a.supersede()
	assert.Equal(t, attemptCancelled, a.state, "an ended attempt keeps its outcome")
	assert.Equal(t, 2, cancelled)
}
