//go:build race

package hardening

// raceEnabled: the race detector slows every Check several times over, so the largest runs
// shrink under it (and say so in their log).
const raceEnabled = true
