//go:build !race

package hmackey_test

const raceEnabled = false
