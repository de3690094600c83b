//go:build !race

package hardening

// raceEnabled: see race_test.go.
const raceEnabled = false
