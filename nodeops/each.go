package nodeops

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Result is the outcome of one host's call in [Each]: the host, the value
// the call returned and its error.
type Result[T any] struct {
	Host  string
	Value T
	Err   error
}

// PanicError is the value [Each] panics with when a call panicked: the
// host of the call, the value it panicked with and the stack of the
// goroutine that panicked. It is an error, and unwraps to Value when Value
// is an error.
type PanicError struct {
	Host  string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("nodeops: call for host %q panicked: %v\n\n%s", e.Host, e.Value, e.Stack)
}

// Unwrap returns Value when it is an error, and nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Each calls fn once for each host in hosts, at most limit calls at a time
// (limit <= 0 means no limit: every host at once), waits for every call it
// started, and returns one [Result] per host, in the order of hosts:
// result i is for hosts[i], whatever order the calls finish in. Hosts are
// taken in their order, so with limit 1 the calls run one after another in
// that order. A host listed twice is called twice.
//
// Each passes ctx to every call. When ctx ends, the calls under way are left
// to notice it (they get ctx), and the hosts whose call has not started are
// not called: their Result has Err set to ctx.Err(). Each itself never
// fails; a call's error is its host's Result.Err.
//
// A panic in a call is not swallowed: Each stops starting calls, cancels the
// context of the calls under way, waits for them, and then panics in the
// caller's goroutine with a [*PanicError] naming the host and carrying the
// panic's value and stack (the first panic, when several calls panic).
func Each[T any](ctx context.Context, hosts []string, limit int, fn func(ctx context.Context, host string) (T, error)) []Result[T] {
	results := make([]Result[T], len(hosts))
	for i, h := range hosts {
		results[i].Host = h
	}
	if len(hosts) == 0 {
		return results
	}
	if limit <= 0 || limit > len(hosts) {
		limit = len(hosts)
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		sem      = make(chan struct{}, limit)
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked *PanicError
	)
	next := 0
	for ; next < len(hosts); next++ {
		select {
		case sem <- struct{}{}:
		case <-inner.Done():
		}
		if inner.Err() != nil {
			break
		}
		i := next
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					if panicked == nil {
						panicked = &PanicError{Host: hosts[i], Value: p, Stack: debug.Stack()}
					}
					mu.Unlock()
					cancel()
				}
			}()
			r := &results[i]
			r.Value, r.Err = fn(inner, r.Host)
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	for i := next; i < len(hosts); i++ {
		results[i].Err = ctx.Err()
	}
	return results
}
