//go:build race

package otp_test

// raceEnabled: the race detector changes what the compiler keeps on the
// stack, so allocation counts mean nothing under it. .ci/run runs the
// allocation tests again without it.
const raceEnabled = true
