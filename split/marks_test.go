package split

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarksBounded adds far more marks than the list keeps: it must stay
// bounded, ordered and evenly spread, and before must pick the right one.
func TestMarksBounded(t *testing.T) {
	m := &marks{stride: 1}
	const fills = 5000
	for i := 1; i <= fills; i++ {
		m.add(mark{off: int64(i) * 100, count: int64(i) * 10})
	}
	require.LessOrEqual(t, len(m.list), maxMarks)
	require.Greater(t, len(m.list), maxMarks/4)
	for i := 1; i < len(m.list); i++ {
		require.Less(t, m.list[i-1].off, m.list[i].off)
		require.Less(t, m.list[i-1].count, m.list[i].count)
	}
	gap := m.list[1].off - m.list[0].off
	for i := 1; i < len(m.list); i++ {
		assert.Equal(t, gap, m.list[i].off-m.list[i-1].off, "marks evenly spread")
	}
	def := mark{off: 7}
	assert.Equal(t, def, m.before(m.list[0].count, def))
	for i, k := range m.list[1:] {
		assert.Equal(t, m.list[i], m.before(k.count, def))
		assert.Equal(t, k, m.before(k.count+1, def))
	}
}
