package fault_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/acme/totp/fault"
)

var errSkew = fault.New(fault.Invalid, "invalid_parameter", "skew", "must be from 0 to 10 steps")

func TestDerivedErrors(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:6379: connection refused")
	tests := []struct {
		name       string
		give       error
		wantDetail string
		wantError  string
		wantField  string
		wantWait   time.Duration
	}{
		{"the sentinel", errSkew, "skew must be from 0 to 10 steps", "skew must be from 0 to 10 steps", "skew", 0},
		{"about another field", errSkew.At("skew_past"), "skew_past must be from 0 to 10 steps", "skew_past must be from 0 to 10 steps", "skew_past", 0},
		{"explained", errSkew.Explain("got 11"), "skew must be from 0 to 10 steps; got 11", "skew must be from 0 to 10 steps; got 11", "skew", 0},
		{"a cause is logged, not shown", errSkew.Because(cause), "skew must be from 0 to 10 steps", "skew must be from 0 to 10 steps: " + cause.Error(), "skew", 0},
		{"waiting", errSkew.Wait(3 * time.Second), "skew must be from 0 to 10 steps", "skew must be from 0 to 10 steps", "skew", 3 * time.Second},
		{"wrapped by fmt", fmt.Errorf("verify: %w", errSkew.At("skew_future")), "skew_future must be from 0 to 10 steps", "verify: skew_future must be from 0 to 10 steps", "skew_future", 0},
		{"whole", fault.Whole(fault.Invalid, "invalid_json", "secret", `member "secret" appears more than once`), `member "secret" appears more than once`, `member "secret" appears more than once`, "secret", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fault.From(tt.give)
			if assert.NotNil(t, f) {
				assert.Equal(t, tt.wantDetail, f.Detail())
				assert.Equal(t, tt.wantField, f.Field)
				assert.Equal(t, tt.wantWait, f.RetryAfter)
			}
			assert.Equal(t, tt.wantError, tt.give.Error())
			if tt.name != "whole" {
				assert.ErrorIs(t, tt.give, errSkew, "still the sentinel")
			}
		})
	}
	assert.ErrorIs(t, errSkew.Because(cause), cause, "the cause is in the chain")
	assert.NotErrorIs(t, errSkew, errSkew.At("skew_past"), "a sentinel is not what was made from it")
	assert.Nil(t, fault.From(cause), "not a fault: the edge answers internal")
	assert.NoError(t, fault.At("x", nil))
}

func TestSeconds(t *testing.T) {
	for give, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 5 * time.Minute: 300} {
		assert.Equal(t, want, fault.Seconds(give), "%v", give)
	}
}
