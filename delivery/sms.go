package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TwilioAPI is Twilio's API root; a compatible gateway, or a test server,
// takes its place through TWILIO_API_URL.
const TwilioAPI = "https://api.twilio.com"

// Twilio sends SMS through Twilio's Messages API, as its reference gives
// it: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP basic
// auth (the account SID and auth token) and the form fields To, From (a
// number) or MessagingServiceSid (MG...), and Body. It answers 201 with
// the message's sid, or an error document with Twilio's own code (21211:
// an invalid To number).
type Twilio struct {
	endpoint   string
	sid, token string
	from       string
	client     *http.Client
	templates  *Templates
}

// NewTwilio returns the Twilio sender of account sid, sending from from
// (a number, or a messaging service SID), at apiURL (TwilioAPI when
// empty).
func NewTwilio(apiURL, sid, token, from string, templates *Templates) (*Twilio, error) {
	if apiURL == "" {
		apiURL = TwilioAPI
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("TWILIO_API_URL must be an http(s) URL")
	}
	if sid == "" || token == "" || from == "" {
		return nil, errors.New("SMS needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
	}
	return &Twilio{
		endpoint: strings.TrimSuffix(apiURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(sid) + "/Messages.json",
		sid:      sid, token: token, from: from,
		// Each try is bounded by the request's deadline; this bounds a
		// try that would otherwise hang on a dead connection.
		client:    &http.Client{Timeout: 5 * time.Second},
		templates: templates,
	}, nil
}

// twilioError is Twilio's error document.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// Send posts m's text, retrying a gateway that cannot be reached, answers
// 429 or a 5xx, until ctx ends.
func (t *Twilio) Send(ctx context.Context, m Message) (Receipt, error) {
	body, err := t.templates.SMS(m)
	if err != nil {
		return Receipt{}, err
	}
	form := url.Values{"To": {m.To}, "Body": {body}}
	if strings.HasPrefix(t.from, "MG") {
		form.Set("MessagingServiceSid", t.from)
	} else {
		form.Set("From", t.from)
	}
	encoded := form.Encode()
	return retry(ctx, func(ctx context.Context) (Receipt, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(encoded))
		if err != nil {
			return Receipt{}, err
		}
		req.SetBasicAuth(t.sid, t.token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := t.client.Do(req)
		if err != nil {
			// url.Error quotes the URL, which names the account, not the
			// number; the cause says only that it could not be reached.
			return Receipt{}, unreachable("twilio", errors.New("cannot reach the API"))
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		switch {
		case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
			var ok struct {
				SID string `json:"sid"`
			}
			if json.Unmarshal(raw, &ok) != nil || ok.SID == "" {
				return Receipt{}, unreachable("twilio", fmt.Errorf("answered %d without a sid", resp.StatusCode))
			}
			return Receipt{ID: ok.SID}, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return Receipt{}, unreachable("twilio", fmt.Errorf("answered %d", resp.StatusCode))
		}
		var e twilioError
		_ = json.Unmarshal(raw, &e)
		code := strconv.Itoa(e.Code)
		if e.Code == 0 {
			code = strconv.Itoa(resp.StatusCode)
		}
		// Twilio's message quotes the number: only its code goes on.
		f := ErrRefused.Explain("Twilio answered " + strconv.Itoa(resp.StatusCode) + " with error " + code)
		f.ProviderCode = code
		return Receipt{}, f
	})
}
