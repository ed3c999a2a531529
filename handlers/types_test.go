package handlers

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/api"
)

// TestVerifyResponseJSON holds the hand-written encoding to json.Marshal's.
func TestVerifyResponseJSON(t *testing.T) {
	step, zero, ahead, behind := uint64(56991234), int64(0), int64(10), int64(-10)
	maxStep := ^uint64(0)
	tests := []struct {
		name string
		give api.VerifyResponse
	}{
		{"valid", api.VerifyResponse{Valid: true, Remaining: 18, Step: &step, Drift: &zero}},
		{"valid ahead", api.VerifyResponse{Valid: true, Remaining: 1, Step: &step, Drift: &ahead}},
		{"valid behind", api.VerifyResponse{Valid: true, Remaining: 3600, Step: &maxStep, Drift: &behind}},
		{"mismatch", api.VerifyResponse{Reason: "mismatch", Remaining: 30}},
		{"malformed", api.VerifyResponse{Reason: "malformed", Remaining: 7}},
		{"replayed", api.VerifyResponse{Reason: "replayed", Remaining: 29}},
		{"stale", api.VerifyResponse{Reason: "stale", Remaining: 2}},
		{"zero", api.VerifyResponse{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.give)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(appendVerifyJSON(nil, tt.give)))
		})
	}
}
