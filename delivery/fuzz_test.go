package delivery_test

import (
	"strings"
	"testing"

	"github.com/acme/totp/delivery"
	"github.com/acme/totp/fault"
)

// FuzzDestination: any subject on any channel is a destination or a 400
// naming subject, never a panic; an email destination is the subject
// itself and holds no header break; an SMS one is E.164.
func FuzzDestination(f *testing.F) {
	for _, s := range []string{"alice@example.com", "a@example.com\r\nBcc: b@example.com", "Eve <e@example.com>", "+447400123456", "+44 7400 123456", "+", "", "@", "a@[127.0.0.1]", "\"a b\"@example.com"} {
		f.Add("email", s)
		f.Add("sms", s)
		f.Add("webhook", s)
	}
	f.Fuzz(func(t *testing.T, channel, subject string) {
		to, err := delivery.Destination(delivery.Channel(channel), subject, []string{"GB"})
		if err != nil {
			if fe := fault.From(err); fe == nil || fe.Code != "invalid_parameter" {
				t.Fatalf("%q on %q: %v", subject, channel, err)
			}
			return
		}
		if strings.ContainsAny(to, "\r\n") {
			t.Fatalf("%q on %q: a line break in %q", subject, channel, to)
		}
		switch delivery.Channel(channel) {
		case delivery.Email:
			if to != subject || strings.Count(to, "@") != 1 {
				t.Fatalf("%q: email destination %q", subject, to)
			}
		case delivery.SMS:
			if !strings.HasPrefix(to, "+") || strings.Trim(to[1:], "0123456789") != "" {
				t.Fatalf("%q: SMS destination %q", subject, to)
			}
		}
		_ = delivery.Mask(delivery.Channel(channel), to)
	})
}
