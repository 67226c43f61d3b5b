//go:build race

package pdq

// raceEnabled scales tests down under the race detector, which makes the
// index's bucket loops about twenty times slower.
const raceEnabled = true
