package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's Chromium, or skips: loudly, and not at all under
// CI, where the browser test must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROME_PATH"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "Chromium is not installed (apt-get install chromium): SKIPPING the Swagger UI browser test"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + ", which CI must run")
	}
	t.Skip(msg)
	return ""
}

// TestSwaggerUIInBrowser drives Swagger UI in headless Chromium against
// the real binary, as a newcomer would: enter the API key with Authorize,
// expand an operation, Try it out, Execute, read the answer.
func TestSwaggerUIInBrowser(t *testing.T) {
	exe := chromium(t)
	const apiKey = "browser-test-key-of-thirty-two-bytes"
	base, _, _ := startBinary(t, "API_KEYS="+apiKey)

	ctx := browse(t, exe)

	// GET /generate/secret: expand, Try it out, Execute.
	// Swagger UI names an operation's block by its tag and operationId.
	const secretOp = "#operations-secrets-generateSecret"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/swagger/index.html"),
		chromedp.WaitVisible(chromedp.CSS(secretOp)),
		// Authorize: the first scheme's field is X-API-Key.
		chromedp.Click(chromedp.CSS(".auth-wrapper .authorize")),
		chromedp.WaitVisible(chromedp.CSS(".modal-ux .auth-container input")),
		chromedp.SendKeys(chromedp.CSS(".modal-ux .auth-container input"), apiKey),
		chromedp.Click(chromedp.CSS(".modal-ux .auth-container .auth-btn-wrapper .authorize")),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		chromedp.Click(chromedp.CSS(secretOp+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(secretOp+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(secretOp+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(secretOp+" .execute")),
		chromedp.Click(chromedp.CSS(secretOp+" .execute")),
	))
	status, answer := liveResponse(t, ctx, secretOp)
	require.Equal(t, "200", status, answer)
	// The key typed into Authorize stays in the page, not in the
	// browser's storage, where any later script of the origin could read it.
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage))`))
	require.NoError(t, err)
	assert.NotContains(t, stored, apiKey)
	page, err := http.Get(base + "/swagger/index.html")
	require.NoError(t, err)
	page.Body.Close()
	assert.Contains(t, page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", "no page may frame Swagger UI")
	var secret struct{ Secret string }
	require.NoError(t, json.Unmarshal([]byte(answer), &secret), answer)
	require.NotEmpty(t, secret.Secret)

	// POST /verify/token with the code the secret shows now, typed into
	// the request body as a person would.
	req, err := http.NewRequest(http.MethodPost, base+"/generate/token", strings.NewReader(`{"secret":"`+secret.Secret+`"}`))
	require.NoError(t, err)
	req.Header.Set("X-API-Key", apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()

	const verifyOp = "#operations-tokens-verifyToken"
	body := `{"secret": "` + secret.Secret + `", "token": "` + tok.Token + `"}`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(verifyOp+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(verifyOp+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(verifyOp+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(verifyOp+" textarea.body-param__text")),
		// Select the example body, then type over it.
		chromedp.Click(chromedp.CSS(verifyOp+" textarea.body-param__text")),
		discard(chromedp.Evaluate[bool](`document.querySelector("`+verifyOp+` textarea.body-param__text").select() === undefined`)),
		chromedp.SendKeys(chromedp.CSS(verifyOp+" textarea.body-param__text"), body),
		chromedp.Click(chromedp.CSS(verifyOp+" .execute")),
	))
	status, answer = liveResponse(t, ctx, verifyOp)
	require.Equal(t, "200", status, answer)
	var verdict struct{ Valid bool }
	require.NoError(t, json.Unmarshal([]byte(answer), &verdict), answer)
	require.True(t, verdict.Valid, answer)
}

// browse starts headless Chromium and returns a tab's context bounded to a
// minute, which screenshots the page when the test fails.
func browse(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 2000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first call starts the browser and ties it to its context: to tab,
	// so that a step that times out leaves it open for the screenshot.
	require.NoError(t, chromedp.Do(tab))
	ctx, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancelTimeout)

	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		shotCtx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		if shot, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100)); err == nil {
			path := filepath.Join(os.TempDir(), "swagger-ui-failure.png")
			if os.WriteFile(path, shot, 0o644) == nil {
				t.Logf("screenshot of the failure: %s", path)
			}
		}
	})
	return ctx
}

// TestSwaggerUIShowsTheQRAndTrueErrorExamples: Try it out on POST
// /generate/qr shows the PNG; and the error examples Swagger UI shows for
// POST /verify/token are what the service answers when the same mistake is
// executed from the page.
func TestSwaggerUIShowsTheQRAndTrueErrorExamples(t *testing.T) {
	exe := chromium(t)
	base, _, _ := startBinary(t) // no API keys, no SEAL_KEYS
	ctx := browse(t, exe)

	const qrOp = "#operations-secrets-generateQR"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/swagger/index.html"),
		chromedp.WaitVisible(chromedp.CSS(qrOp)),
		chromedp.Click(chromedp.CSS(qrOp+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(qrOp+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(qrOp+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(qrOp+" .execute")),
		chromedp.Click(chromedp.CSS(qrOp+" .execute")), // the example body, as shown
		chromedp.WaitVisible(chromedp.CSS(qrOp+" .live-responses-table .response-col_description img")),
	))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(async () => {
		const img = document.querySelector("`+qrOp+` .live-responses-table .response-col_description img");
		await img.decode();
		return img.naturalWidth;
	})()`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, 256, width, "the PNG Swagger UI shows is the example's size")

	const verifyOp = "#operations-tokens-verifyToken"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(verifyOp+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(verifyOp+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(verifyOp+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(verifyOp+" textarea.body-param__text")),
	))
	for _, tc := range []struct {
		status, example, body string
	}{
		{"400", "missing_field", `{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}`},
		{"400", "invalid_parameter", `{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "token": "123456", "skew": 11}`},
		{"400", "conflicting_field", `{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "uri": "otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme", "token": "123456"}`},
		{"501", "sealing_not_configured", `{"sealed": "s1.test.AAAA", "token": "123456"}`},
	} {
		shown := exampleShown(t, ctx, verifyOp, tc.status, tc.example)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(verifyOp+" textarea.body-param__text")),
			discard(chromedp.Evaluate[bool](`document.querySelector("`+verifyOp+` textarea.body-param__text").select() === undefined`)),
			chromedp.SendKeys(chromedp.CSS(verifyOp+" textarea.body-param__text"), tc.body),
			chromedp.Click(chromedp.CSS(verifyOp+" .execute")),
		))
		status, answer := liveResponse(t, ctx, verifyOp)
		require.Equal(t, tc.status, status, answer)
		require.JSONEq(t, shown, answer, "the %s example Swagger UI shows is what the service answers", tc.example)
	}
}

// exampleShown picks the named example of op's status response in Swagger
// UI's responses table, and returns the JSON it shows.
func exampleShown(t *testing.T, ctx context.Context, op, status, name string) string {
	t.Helper()
	row := op + ` .responses-table tr.response[data-code="` + status + `"]`
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const row = document.querySelector('`+row+`');
		const select = row.querySelector(".examples-select select");
		if (select && select.value !== "`+name+`") {
			Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set.call(select, "`+name+`");
			select.dispatchEvent(new Event("change", { bubbles: true }));
			await new Promise(r => setTimeout(r, 200));
		}
		return row.querySelector(".highlight-code pre, .example pre, pre").innerText;
	})()`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Contains(t, text, `"code": "`+name+`"`, "Swagger UI shows the %s example under %s", name, status)
	return text
}

// liveResponse waits for the answer Swagger UI shows under op after
// Execute, and returns its status and body.
func liveResponse(t *testing.T, ctx context.Context, op string) (status, body string) {
	t.Helper()
	row := op + " .live-responses-table tr.response .response-col_status"
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row)))
	require.NoError(t, err)
	body, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table .response-col_description pre")))
	require.NoError(t, err)
	return strings.TrimSpace(status), body
}

// discard runs a and drops its value, to use it among Void actions.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}
