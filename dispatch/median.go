package dispatch

import (
	"container/heap"
	"time"
)

// medians keeps the running median of a growing set of durations in
// O(log n) per sample: the smaller half in a max-heap, the larger half
// (one more when the count is odd) in a min-heap whose least element is
// the median, the element at index n/2 of the sorted samples.
type medians struct {
	lo maxHeap // the n/2 smallest samples
	hi minHeap // the others; hi[0] is the median
}

func (m *medians) len() int { return len(m.lo) + len(m.hi) }

// median returns the element at index n/2 of the sorted samples, 0 when
// there is none.
func (m *medians) median() time.Duration {
	if len(m.hi) == 0 {
		return 0
	}
	return m.hi[0]
}

func (m *medians) add(d time.Duration) {
	if len(m.hi) == 0 || d >= m.hi[0] {
		heap.Push(&m.hi, d)
	} else {
		heap.Push(&m.lo, d)
	}
	switch {
	case len(m.hi) > len(m.lo)+1:
		heap.Push(&m.lo, heap.Pop(&m.hi))
	case len(m.lo) > len(m.hi):
		heap.Push(&m.hi, heap.Pop(&m.lo))
	}
}

type minHeap []time.Duration

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type maxHeap []time.Duration

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
