//go:build race

package server_test

// raceEnabled is set when the race detector runs. It slows the hub down
// ten times or more, so the attack tests then run smaller and report their
// latencies without holding the hub to the figures they state.
const raceEnabled = true
