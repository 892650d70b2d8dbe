//go:build race

package layer

// raceEnabled: the race detector keeps sync.Pool from reusing buffers, so
// allocation counts mean nothing.
const raceEnabled = true
