package handlers

import (
	"math"

	"github.com/acme/totp/api"
)

// decodeFlat decodes the plainest bodies of the token routes without
// reflection, and reports false for anything else, which encoding/json
// then decodes (and refuses) as before. encoding/json took 1.8 us of a
// verify request, more than its HMACs (BenchmarkDecodeVerify).
// FuzzDecodeFlat holds the two to the same result on every input this
// accepts.
func decodeFlat(body []byte, dst any) bool {
	switch r := dst.(type) {
	case *api.VerifyRequest:
		return scanFlat(body, func(name, value []byte) bool {
			switch string(name) {
			case "secret":
				return setString(&r.Secret, value)
			case "token":
				return r.Token.UnmarshalJSON(value) == nil
			case "skew":
				return setInt(&r.Skew, value)
			case "after_step":
				return setUint(&r.AfterStep, value)
			}
			return setOption(&r.TOTPOptions, name, value)
		})
	case *api.TokenRequest:
		return scanFlat(body, func(name, value []byte) bool {
			if string(name) == "secret" {
				return setString(&r.Secret, value)
			}
			return setOption(&r.TOTPOptions, name, value)
		})
	}
	return false
}

func setOption(o *api.TOTPOptions, name, value []byte) bool {
	switch string(name) {
	case "encoding":
		return setString(&o.Encoding, value)
	case "algorithm":
		return setString(&o.Algorithm, value)
	case "digits":
		return setInt(&o.Digits, value)
	case "period":
		return setInt(&o.Period, value)
	}
	return false // unknown, or in another case: encoding/json says which
}

// setString sets a string field from a plain string literal.
func setString(dst *string, value []byte) bool {
	if value[0] != '"' {
		return false
	}
	*dst = string(value[1 : len(value)-1])
	return true
}

// setInt sets an integer field from a plain number of at most nine digits,
// which fits any int.
func setInt(dst **int, value []byte) bool {
	if value[0] == '"' || len(value) > 9 {
		return false
	}
	n := 0
	for _, c := range value {
		n = n*10 + int(c-'0')
	}
	*dst = &n
	return true
}

// setUint sets a uint64 field from a plain number that fits one.
func setUint(dst **uint64, value []byte) bool {
	if value[0] == '"' {
		return false
	}
	var n uint64
	for _, c := range value {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return false
		}
		n = n*10 + d
	}
	*dst = &n
	return true
}

// maxFlatMembers bounds the members scanFlat tracks to refuse a repeated
// name; a verify body has at most eight.
const maxFlatMembers = 8

// scanFlat reads body as one JSON object whose members are plain: names
// and string values of printable ASCII without escapes, and numbers that
// are non-negative integers without a leading zero. It calls field with
// each name and raw value (a string with its quotes) and reports whether
// the whole body was such an object, with only white space around it, and
// field took every member. It reports false at anything else (escapes,
// bytes beyond ASCII, null, booleans, signs, fractions, exponents, nesting,
// a repeated name, more than maxFlatMembers members), so the caller can
// leave every such body to encoding/json.
func scanFlat(body []byte, field func(name, value []byte) bool) bool {
	var seen [maxFlatMembers][]byte
	members := 0
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return skipSpace(body, i+1) == len(body)
	}
	for {
		end, ok := plainString(body, i)
		if !ok {
			return false
		}
		name := body[i+1 : end-1]
		for _, s := range seen[:members] {
			if string(s) == string(name) {
				return false
			}
		}
		if members == maxFlatMembers {
			return false
		}
		seen[members] = name
		members++

		i = skipSpace(body, end)
		if i == len(body) || body[i] != ':' {
			return false
		}
		i = skipSpace(body, i+1)
		if i == len(body) {
			return false
		}
		if body[i] == '"' {
			end, ok = plainString(body, i)
		} else {
			end, ok = plainNumber(body, i)
		}
		if !ok || !field(name, body[i:end]) {
			return false
		}

		i = skipSpace(body, end)
		if i == len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return skipSpace(body, i+1) == len(body)
		default:
			return false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString returns the end of the string literal at i, when it is
// printable ASCII without escapes.
func plainString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return 0, false
		}
	}
	return 0, false
}

// plainNumber returns the end of the number at i, when it is a
// non-negative integer without a leading zero.
func plainNumber(b []byte, i int) (int, bool) {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i || (b[i] == '0' && j-i > 1) {
		return 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, false
	}
	return j, true
}
