package controller

import (
	"testing"

	"github.com/gregorhq/gregor/internal/metadata"
)

func TestRoundRobinPlacement(t *testing.T) {
	for n := 1; n <= 6; n++ {
		brokers := make([]metadata.Broker, n)
		for i := range brokers {
			brokers[i].ID = int32(10 + i)
		}
		for rf := 1; rf <= n; rf++ {
			for start := range n {
				p := roundRobinPlacer{start: func(int) int { return start }}
				out, err := p.place(brokers, 3, int32(4*n), int16(rf))
				if err != nil {
					t.Fatal(err)
				}
				leaders := map[int32]int{}
				for i, r := range out {
					if len(r) != rf {
						t.Fatalf("n=%d rf=%d: partition %d has %v", n, rf, i, r)
					}
					seen := map[int32]bool{}
					for _, b := range r {
						if seen[b] || b < 10 || b >= int32(10+n) {
							t.Fatalf("n=%d rf=%d: partition %d has %v", n, rf, i, r)
						}
						seen[b] = true
					}
					leaders[r[0]]++
				}
				for _, b := range brokers {
					if leaders[b.ID] != 4 {
						t.Fatalf("n=%d rf=%d: leaders %v", n, rf, leaders)
					}
				}
			}
		}
		if _, err := (roundRobinPlacer{}).place(brokers, 0, 1, int16(n+1)); errCode(err) != "INVALID_REPLICATION_FACTOR" {
			t.Fatalf("rf > brokers: %v", err)
		}
	}
}
